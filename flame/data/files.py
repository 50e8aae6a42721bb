"""Benchmark files: JSONL judgments for data that no registry names, loaded into the same ``Example``.

One JSON object per line, in one of three forms (detected from the keys, or given as ``format``):

* **pairwise**: ``prompt`` (or ``messages``: a list of ``{role, content}``), ``response_a``,
  ``response_b``, ``label`` ("A", "B" or "tie", any case);
* **pointwise**: ``prompt`` (or ``messages``), ``response``, ``score``, ``scale`` as ``[min, max]``;
* **classification**: ``fields`` (an ordered object of named texts), ``label``, ``labels`` (the label
  space), ``instruction``.

Every form takes an optional ``id`` (default: the line number), ``subset``, ``title``, and, for pairwise and
pointwise, ``criterion``: a sentence that replaces the default evaluation description (a rubric); the
answer-format sentence is still appended, so the rater knows its label space. Pairwise and pointwise rows
also take an optional ``reference``: a reference answer, shown as the CONTEXT field ``reference answer``
between the prompt and the response(s) (`flame.adhoc`). ``label``/``score`` may be
absent: unlabeled rows are rated, not scored (``Example.targets == {}``).

A malformed row (missing field, wrong label, bad JSON, non-UTF-8, empty prompt) becomes one problem,
``file:line: reason``, and the other rows are kept. An empty *response* is a legitimately bad response
and is kept. A missing file is one ``BenchmarkFileError`` naming the path.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame.adhoc import (
    CLASSIFICATION_TITLE,
    PAIRWISE_DESCRIPTION,
    PAIRWISE_TITLE,
    POINTWISE_DESCRIPTION,
    POINTWISE_TITLE,
    REFERENCE_FIELD,
    REFERENCE_SENTENCE,
    RESCALED_POINTS,
    classification_example,
    pairwise_answer_sentence,
    pairwise_example,
    pointwise_answer_sentence,
    pointwise_example,
    scale_labels,
)
from flame.data.preprocess import rescale_to_label, to_float
from flame.data.task import BadRow
from flame.errors import FlameError
from flame.jsonio import read_jsonl
from flame.types import PAIRWISE_LABELS_WITH_TIE, Example, TaskType, check_labels

__all__ = [  # the default instructions live in flame.adhoc; re-exported for the file-format's users
    "CLASSIFICATION_TITLE",
    "PAIRWISE_DESCRIPTION",
    "PAIRWISE_TITLE",
    "POINTWISE_DESCRIPTION",
    "POINTWISE_TITLE",
    "pairwise_answer_sentence",
    "pointwise_answer_sentence",
]

FORMATS = ("pairwise", "pointwise", "classification")


class BenchmarkFileError(FlameError, FileNotFoundError):
    """The benchmark file is missing or unreadable: one clear message naming the path."""


@dataclass
class LoadedFile:
    path: Path
    format: str
    examples: list[Example]
    problems: list[str] = field(default_factory=list)  # "file:line: reason"
    n_lines: int = 0  # non-blank lines read

    @property
    def n_skipped(self) -> int:
        return len(self.problems)

    def summary(self) -> str:
        return f"{self.path}: {len(self.examples)} {self.format} rows loaded, {self.n_skipped} skipped"


def detect_format(obj: dict[str, Any]) -> str:
    """The file form a row's keys name; ValueError when they name none."""
    if "fields" in obj:
        return "classification"
    if "response_a" in obj or "response_b" in obj:
        return "pairwise"
    if "response" in obj or "scale" in obj or "score" in obj:
        return "pointwise"
    raise ValueError(f"cannot tell the format from the keys {sorted(obj)}")


# ----------------------------------------------------------------------------------- row checks


def _text(obj: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    if key not in obj or obj[key] is None:
        raise BadRow(f"missing field {key!r}")
    value = obj[key]
    if not isinstance(value, str):
        raise BadRow(f"field {key!r} is {type(value).__name__}, not text")
    if not allow_empty and not value.strip():
        raise BadRow(f"empty field {key!r}")
    return value


def render_messages(messages: Any) -> str:
    """A ``messages`` list as ``User: ...`` / ``Assistant: ...`` lines, every turn included."""
    if not isinstance(messages, list) or not messages:
        raise BadRow("field 'messages' must be a non-empty list of {role, content}")
    lines = []
    for i, m in enumerate(messages):
        if (
            not isinstance(m, dict)
            or not isinstance(m.get("role"), str)
            or not isinstance(m.get("content"), str)
        ):
            raise BadRow(f"messages[{i}] is not a {{role, content}} object with text values")
        if not m["content"].strip():
            raise BadRow(f"messages[{i}] has empty content")
        lines.append(f"{m['role'].strip().capitalize()}: {m['content'].strip()}")
    return "\n".join(lines)


def _prompt(obj: dict[str, Any]) -> str:
    if "messages" in obj:
        if "prompt" in obj:
            raise BadRow("both 'prompt' and 'messages': give one")
        return render_messages(obj["messages"])
    return _text(obj, "prompt")


def _criterion(obj: dict[str, Any]) -> str | None:
    return _text(obj, "criterion") if "criterion" in obj else None


def _reference(obj: dict[str, Any]) -> str | None:
    # An explicit null is "no reference" (what a serializer writes for an optional field); "" is malformed.
    return _text(obj, "reference") if obj.get("reference") is not None else None


def _pairwise_label(obj: dict[str, Any]) -> str | None:
    if obj.get("label") is None:
        return None
    label = obj["label"]
    by_lower = {lab.lower(): lab for lab in PAIRWISE_LABELS_WITH_TIE}
    if not isinstance(label, str) or label.strip().lower() not in by_lower:
        raise BadRow(f"label {label!r} is not one of 'A', 'B', 'tie'")
    return by_lower[label.strip().lower()]


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise BadRow(f"{name} is bool, not a number")
    return to_float(value, name)


def _scale(obj: dict[str, Any]) -> tuple[float, float]:
    scale = obj.get("scale")
    if scale is None:
        raise BadRow("missing field 'scale'")
    if not isinstance(scale, list) or len(scale) != 2:
        raise BadRow(f"scale {scale!r} is not [min, max]")
    low, high = _number(scale[0], "scale min"), _number(scale[1], "scale max")
    if low >= high:
        raise BadRow(f"empty scale [{low:g}, {high:g}]")
    return low, high


# -------------------------------------------------------------------------------------- loading


@dataclass
class _Line:
    lineno: int
    obj: dict[str, Any]


def _read_lines(path: Path, problems: list[str]) -> tuple[list[_Line], int]:
    """The file's JSON objects by line; every unreadable line becomes a ``file:line: why`` problem
    (`flame.jsonio` turns nesting, huge integers, surrogates, duplicate keys into reasons; a BOM is fine)."""
    try:
        parsed = list(read_jsonl(path))
    except FileNotFoundError:
        raise BenchmarkFileError(f"benchmark file not found: {path}") from None
    except IsADirectoryError:
        raise BenchmarkFileError(f"benchmark file is a directory: {path}") from None
    except (OSError, EOFError) as e:
        raise BenchmarkFileError(f"benchmark file is not valid gzip: {path} ({e})") from None
    lines = []
    for line in parsed:
        where = f"{path}:{line.lineno}"
        if line.problem is not None:
            problems.append(f"{where}: {line.problem}")
        elif not isinstance(line.value, dict):
            problems.append(f"{where}: expected a JSON object, got {type(line.value).__name__}")
        else:
            lines.append(_Line(line.lineno, line.value))
    return lines, len(parsed)


def load_benchmark_file(
    path: str | Path, format: str | None = None, task_name: str | None = None
) -> LoadedFile:
    """Read a JSONL benchmark file into Examples; bad rows become ``file:line: reason`` problems.

    ``format`` (pairwise | pointwise | classification) overrides detection; without it the format is
    the one the first row's keys name, and a row of another form is a problem, not a guess.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown benchmark format {format!r}: use one of {', '.join(FORMATS)}")
    problems: list[str] = []
    lines, n_lines = _read_lines(path, problems)
    fmt = format
    if fmt is None:
        for line in lines:
            try:
                fmt = detect_format(line.obj)
                break
            except ValueError:
                continue
    if fmt is None:
        problems += [
            f"{path}:{line.lineno}: cannot tell the format from the keys {sorted(line.obj)}" for line in lines
        ]
        return LoadedFile(path, "unknown", [], problems, n_lines)
    stem = path.name.split(".")[0]
    task = task_name or f"file:{stem}"
    with_tie = any(
        isinstance(x.obj.get("label"), str) and x.obj["label"].strip().lower() == "tie" for x in lines
    )
    examples: list[Example] = []
    first_line_of: dict[str, int] = {}
    for line in sorted(lines, key=lambda x: x.lineno):
        where = f"{path}:{line.lineno}"
        try:
            detected = detect_format(line.obj)
        except ValueError:
            detected = None
        if detected is not None and detected != fmt:
            problems.append(f"{where}: a {detected} row (keys {sorted(line.obj)}) in a {fmt} file")
            continue
        try:
            ex = _BUILDERS[fmt](line.obj, task, line.lineno, with_tie)
        except (BadRow, ValueError) as e:
            problems.append(f"{where}: {e}")
            continue
        if ex.id in first_line_of:
            problems.append(f"{where}: duplicate id {ex.id!r} (first on line {first_line_of[ex.id]})")
            continue
        first_line_of[ex.id] = line.lineno
        examples.append(ex)
    problems.sort(key=_problem_order)
    return LoadedFile(path, fmt, examples, problems, n_lines)


def _problem_order(problem: str) -> int:
    # "path:line: reason"; the path may itself hold colons, the reason follows the line number.
    head = problem.split(": ", 1)[0]
    tail = head.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _common(obj: dict[str, Any], lineno: int) -> tuple[str, dict[str, Any]]:
    example_id = str(obj["id"] if obj.get("id") is not None else lineno)
    metadata: dict[str, Any] = {"line": lineno}
    if obj.get("subset") is not None:
        metadata["subset"] = str(obj["subset"])
    return example_id, metadata


def _title(obj: dict[str, Any], default: str) -> str:
    return _text(obj, "title") if "title" in obj else default


def _pairwise_example(obj: dict[str, Any], task: str, lineno: int, with_tie: bool) -> Example:
    prompt = _prompt(obj)
    # An empty response is a (very) bad response, still judged; a missing one is malformed.
    response_a = _text(obj, "response_a", allow_empty=True)
    response_b = _text(obj, "response_b", allow_empty=True)
    label = _pairwise_label(obj)
    example_id, metadata = _common(obj, lineno)
    return pairwise_example(
        prompt,
        response_a,
        response_b,
        criterion=_criterion(obj),
        allow_tie=with_tie,
        reference=_reference(obj),
        title=_title(obj, PAIRWISE_TITLE),
        label=label,
        task=task,
        id=example_id,
        metadata=metadata,
    )


def _pointwise_example(obj: dict[str, Any], task: str, lineno: int, with_tie: bool) -> Example:
    prompt = _prompt(obj)
    response = _text(obj, "response", allow_empty=True)
    low, high = _scale(obj)
    try:
        labels, rescaled = scale_labels(low, high)
    except ValueError as e:
        raise BadRow(str(e)) from None
    example_id, metadata = _common(obj, lineno)
    metadata["scale"] = [int(low) if low.is_integer() else low, int(high) if high.is_integer() else high]
    answer = None
    if obj.get("score") is not None:
        score = _number(obj["score"], "score")
        if not low <= score <= high:
            raise BadRow(f"score {score:g} outside the scale [{low:g}, {high:g}]")
        metadata["score"] = score
        # Means of several raters round half up to the nearest point, as in SummEval's tasks.
        answer = (
            rescale_to_label(score, low, high, RESCALED_POINTS) if rescaled else str(math.floor(score + 0.5))
        )
    return pointwise_example(
        prompt,
        response,
        labels,
        criterion=_criterion(obj),
        reference=_reference(obj),
        title=_title(obj, POINTWISE_TITLE),
        label=answer,
        task=task,
        id=example_id,
        metadata=metadata,
    )


def _classification_example(obj: dict[str, Any], task: str, lineno: int, with_tie: bool) -> Example:
    fields = obj.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise BadRow("field 'fields' must be a non-empty object of named texts")
    inputs = {}
    for name, value in fields.items():
        if not isinstance(value, str):
            raise BadRow(f"fields[{name!r}] is {type(value).__name__}, not text")
        inputs[name] = value
    if not any(v.strip() for v in inputs.values()):
        raise BadRow("every text in 'fields' is empty")
    try:
        labels = list(check_labels(obj.get("labels"), name="field 'labels'"))
    except ValueError as e:  # the one label rule of files, /v1/judge and guided_choice
        raise BadRow(str(e)) from None
    instruction = _text(obj, "instruction")
    answer = None
    if obj.get("label") is not None:
        label = obj["label"]
        by_lower = {x.lower(): x for x in labels}
        if not isinstance(label, str) or (label not in labels and label.strip().lower() not in by_lower):
            raise BadRow(f"label {label!r} is not one of {labels}")
        answer = label if label in labels else by_lower[label.strip().lower()]
    example_id, metadata = _common(obj, lineno)
    return classification_example(
        inputs,
        labels,
        instruction,
        title=_title(obj, CLASSIFICATION_TITLE),
        label=answer,
        task=task,
        id=example_id,
        metadata=metadata,
    )


_BUILDERS = {
    "pairwise": _pairwise_example,
    "pointwise": _pointwise_example,
    "classification": _classification_example,
}


def file_row_example(
    row: dict[str, Any], format: str, task_name: str = "api", line: int = 1, with_tie: bool = False
) -> Example:
    """One benchmark-format object → Example (the service's items use the same shapes as files).

    Raises ``BadRow`` (a ``ValueError``) with the reason when the row is malformed."""
    if format not in _BUILDERS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(_BUILDERS)}")
    return _BUILDERS[format](row, task_name, line, with_tie)


# -------------------------------------------------------------------------------------- writing


def write_benchmark_file(path: str | Path, rows: Iterable[dict[str, Any] | str | bytes]) -> Path:
    """Write rows as JSONL (gzip when the name ends in .gz). A ``str`` or ``bytes`` row is written as
    the line itself, which lets tests write malformed lines."""
    path = Path(path)
    out = bytearray()
    for row in rows:
        if isinstance(row, bytes):
            out += row
        elif isinstance(row, str):
            out += row.encode("utf-8")
        else:
            out += json.dumps(row, ensure_ascii=False).encode("utf-8")
        out += b"\n"
    path.write_bytes(gzip.compress(bytes(out), mtime=0) if path.suffix == ".gz" else bytes(out))
    return path


def _strip_answer_sentence(description: str, sentence: str, with_reference: bool = False) -> str:
    description = description.strip()
    if description.endswith(sentence):
        description = description[: -len(sentence)].strip()
    if with_reference and description.endswith(REFERENCE_SENTENCE):
        description = description[: -len(REFERENCE_SENTENCE)].strip()
    return description


def _prompt_and_response(inputs: dict[str, str], response_keys: tuple[str, ...]) -> str:
    """The prompt of a row: the ``prompt`` field, or every other field as ``name: text`` blocks (the
    reference answer is the row's own ``reference``)."""
    rest = {k: v for k, v in inputs.items() if k not in response_keys and k != REFERENCE_FIELD}
    if len(rest) == 1:
        return next(iter(rest.values()))
    return "\n\n".join(f"{k}: {v}" for k, v in rest.items())


def example_to_benchmark_row(ex: Example) -> dict[str, Any]:
    """An Example as a benchmark-file row (for exporting registered tasks): ``load`` of the written row
    gives the same Example back for Examples read from a file. Registered tasks with other input names
    keep their texts: the fields besides the response(s) become the prompt, as ``name: text`` blocks."""
    row: dict[str, Any] = {"id": ex.id}
    if ex.task_type == TaskType.PAIRWISE:
        keys = [k for k in ex.inputs if k.lower() in ("response a", "response b")]
        if len(keys) != 2:
            keys = list(ex.inputs)[-2:]
        if len(ex.inputs) < 3:
            raise ValueError(f"{ex.task}/{ex.id}: a pairwise example needs a prompt and two responses")
        row["prompt"] = _prompt_and_response(ex.inputs, tuple(keys))
        row["response_a"], row["response_b"] = ex.inputs[keys[0]], ex.inputs[keys[1]]
        if ex.answer is not None:
            row["label"] = ex.answer
        criterion = _strip_answer_sentence(
            ex.description, pairwise_answer_sentence("tie" in (ex.labels or ())), REFERENCE_FIELD in ex.inputs
        )
        if criterion != PAIRWISE_DESCRIPTION:
            row["criterion"] = criterion
        default_title = PAIRWISE_TITLE
    elif ex.task_type == TaskType.POINTWISE:
        if len(ex.inputs) < 2:
            raise ValueError(f"{ex.task}/{ex.id}: a pointwise example needs a prompt and a response")
        response_key = "response" if "response" in ex.inputs else list(ex.inputs)[-1]
        row["prompt"] = _prompt_and_response(ex.inputs, (response_key,))
        row["response"] = ex.inputs[response_key]
        labels = ex.labels or ()
        row["scale"] = list(ex.metadata.get("scale") or [int(labels[0]), int(labels[-1])])
        if ex.metadata.get("score") is not None:
            row["score"] = ex.metadata["score"]
        elif ex.answer is not None:
            row["score"] = int(ex.answer)
        criterion = _strip_answer_sentence(
            ex.description, pointwise_answer_sentence(labels), REFERENCE_FIELD in ex.inputs
        )
        if criterion != POINTWISE_DESCRIPTION:
            row["criterion"] = criterion
        default_title = POINTWISE_TITLE
    elif ex.task_type == TaskType.CLASSIFICATION:
        row["fields"] = dict(ex.inputs)
        row["labels"] = list(ex.labels or ())
        if ex.answer is not None:
            row["label"] = ex.answer
        row["instruction"] = ex.description
        default_title = CLASSIFICATION_TITLE
    else:
        raise ValueError(f"{ex.task}/{ex.id}: {ex.task_type} examples have no benchmark-file form")
    if ex.task_type in (TaskType.PAIRWISE, TaskType.POINTWISE) and REFERENCE_FIELD in ex.inputs:
        row["reference"] = ex.inputs[REFERENCE_FIELD]
    if ex.title != default_title:
        row["title"] = ex.title
    if ex.metadata.get("subset") is not None:
        row["subset"] = ex.metadata["subset"]
    return row
