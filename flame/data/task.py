"""A task: one dataset × one evaluated aspect, with its source, instructions and a pure row function.

Registration modules (``flame/tasks/*.py``) hold the data of each task; the only logic they carry is
``to_row``, a small pure function from one raw record to ``Row``s, unit-tested on literal records.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flame.data.sources import HubDataset, Source
from flame.registry import Registry
from flame.types import CAPABILITIES, Example, TaskType


class BadRow(ValueError):
    """Raised by ``to_row`` for a malformed record (missing field, label outside the label space,
    empty text). The collection builder reports it with file and line and keeps the other rows."""


class Unlabeled(ValueError):
    """Raised by ``to_row`` for a record that carries no human judgment for this task (e.g. a missing
    moderation label, which means *unknown*, not *no*). Counted separately from malformed rows."""


@dataclass(frozen=True)
class Row:
    """What ``to_row`` returns: the CONTEXT fields in order, the human judgment, and metadata.

    ``group`` names the text that all judgments of one prompt share (default: the first input field);
    rows of one group always land in the same split, so a dev or test article never leaks into training.
    ``metadata`` may hold a ``subset`` (benchmark subsets) and a raw ``score`` (for correlations).
    ``split`` is set only by a derived task (``flame.data.pairs``): a pair made of two rows of its source task
    keeps their split instead of drawing one from its own group, so no dev or test row reaches training.
    """

    inputs: dict[str, str]
    answer: str
    metadata: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    extra_targets: dict[str, str] = field(default_factory=dict)
    split: str | None = None


# Licences that permit use for training and redistribution of derived models (the paper's data principle).
PERMISSIVE_LICENSES = (
    "Apache-2.0",
    "MIT",
    "MIT-0",
    "BSD-3-Clause",
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CDLA-Sharing-1.0",
    "ODC-BY-1.0",
)


@dataclass(frozen=True)
class Task:
    name: str
    dataset: str
    task_type: TaskType
    capability: str
    license: str
    title: str
    description: str
    source: Source
    to_row: Callable[[dict[str, Any]], Row | list[Row]]
    labels: tuple[str, ...] | None = None
    output_fields: tuple[str, ...] = ("answer",)
    eval_only: bool = False
    hub: HubDataset | None = None
    # Fractions of (train, dev, test); evaluation-only tasks put every row in test.
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    notes: str = ""
    # The CONTEXT field that holds a reference answer (a gold answer, a reference implementation), when the
    # task shows one: `flame tasks list` marks these tasks. It names a field; it changes no rendered text.
    reference: str | None = None
    # The task whose rows this one is made from (the pairs of a pointwise task, ``flame.data.pairs``). A derived
    # task holds no new human judgment: the v1 mixtures, the held-in dev benchmarks, the overlap index and the
    # judgment counts of `flame tasks stats` leave it out, and its rows inherit the source rows' splits and
    # decontamination.
    derived_from: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "task_type", TaskType(self.task_type))
        if self.capability not in CAPABILITIES:
            raise ValueError(f"{self.name}: capability {self.capability!r} is not one of {CAPABILITIES}")
        if not self.name.endswith(tuple(f"_v{i}" for i in range(1, 100))):
            raise ValueError(f"{self.name}: task names are versioned (end in _v1, _v2, ...)")
        if self.task_type != TaskType.GENERATIVE and not self.labels:
            raise ValueError(f"{self.name}: a {self.task_type} task needs a closed label space")
        if abs(sum(self.split_fractions) - 1.0) > 1e-9:
            raise ValueError(f"{self.name}: split fractions must sum to 1")

    @property
    def permissive(self) -> bool:
        """Unknown or non-permissive licences (⚠ in the MANIFEST) are not permissive."""
        return self.license in PERMISSIVE_LICENSES

    def make_example(self, row: Row, example_id: str) -> Example:
        answer = row.answer.strip() if isinstance(row.answer, str) else row.answer
        if self.labels is not None and answer not in self.labels:
            raise BadRow(f"label {answer!r} is not one of {list(self.labels)}")
        for key, value in row.inputs.items():
            if not isinstance(value, str):
                raise BadRow(f"field {key!r} is {type(value).__name__}, not text")
        return Example(
            task=self.name,
            task_type=self.task_type,
            title=self.title,
            description=self.description,
            inputs=dict(row.inputs),
            targets={"answer": answer, **row.extra_targets},
            labels=self.labels,
            output_fields=self.output_fields,
            id=example_id,
            metadata=dict(row.metadata),
        )


TASKS: Registry[Task] = Registry("task")


def register_task(task: Task) -> Task:
    return TASKS.add(task.name, task)


_LOADED = False
# Registration packages are plugins found by name, like pytest's: the built-in one, plus any installed
# package that declares a ``flame.tasks`` entry point (its value: a package of registration modules). The
# registrations import this module, never the reverse, so the data layer depends on no task package.
BUILTIN_TASK_PACKAGES = ("flame.tasks",)
TASK_ENTRY_POINTS = "flame.tasks"


def task_packages() -> list[str]:
    """The names of the packages whose modules register tasks: built-in first, then entry points."""
    from importlib.metadata import entry_points

    extra = [ep.value for ep in entry_points(group=TASK_ENTRY_POINTS)]
    return list(dict.fromkeys([*BUILTIN_TASK_PACKAGES, *extra]))


def load_all_tasks() -> Registry[Task]:
    """Import every registration module of every task package (once) and return the registry."""
    global _LOADED
    if not _LOADED:
        for name in task_packages():
            package = importlib.import_module(name)
            for mod in pkgutil.iter_modules(getattr(package, "__path__", [])):
                importlib.import_module(f"{name}.{mod.name}")
        _LOADED = True
    return TASKS


def get_task(name: str) -> Task:
    return load_all_tasks().get(name)


def require_text(record: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    """A text field of a record, or ``BadRow`` naming the field (missing, not text, or empty)."""
    if key not in record or record[key] is None:
        raise BadRow(f"missing field {key!r}")
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRow(f"field {key!r} is {type(value).__name__}, not text")
    text = str(value).strip()
    if not text and not allow_empty:
        raise BadRow(f"empty field {key!r}")
    return text
