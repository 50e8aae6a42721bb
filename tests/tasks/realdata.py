"""Apply a registered task to its real source records and count what comes out (for the `data` tests).

Test modules import it as ``from realdata import outcomes`` (tests/tasks is on sys.path, like
tests/raters/rater_examples.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from flame.data.paths import DataRootError, data_root
from flame.data.sources import BadRecord
from flame.data.task import BadRow, Row, Task, Unlabeled, get_task
from flame.types import Example


@dataclass
class Outcomes:
    """What ``task.to_row`` made of every record of the task's source.

    ``good`` counts rows (a record may give several), ``good_records`` the records that gave rows;
    ``bad`` (BadRow), ``unlabeled`` (Unlabeled) and ``bad_records`` (unreadable BadRecord) count records.
    ``labels`` counts the answers of the good rows' examples; ``rows`` and ``examples`` are the good rows
    and their examples, in source order.
    """

    task: Task
    good: int = 0
    good_records: int = 0
    bad: int = 0
    unlabeled: int = 0
    bad_records: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    rows: list[Row] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)

    @property
    def tally(self) -> tuple[int, int, int, int]:
        """(good rows, BadRow, Unlabeled, BadRecord)."""
        return self.good, self.bad, self.unlabeled, self.bad_records

    @property
    def counts(self) -> dict[str, int]:
        """The outcomes that occurred: {"good": rows, "bad": ..., "unlabeled": ..., "bad_records": ...}."""
        named = {
            "good": self.good,
            "bad": self.bad,
            "unlabeled": self.unlabeled,
            "bad_records": self.bad_records,
        }
        return {k: n for k, n in named.items() if n}


def outcomes(task_name: str) -> Outcomes:
    """Read the task's real records under the data root (skip the test when there is none) and apply
    ``to_row`` and ``make_example`` (which checks each answer against the label space) to every record.

    A row that ``make_example`` rejects is an error, never a count: the data tests expect none.
    """
    try:
        root = data_root()
    except DataRootError as e:
        pytest.skip(str(e))
    task = get_task(task_name)
    out = Outcomes(task)
    for rec in task.source.records(root):
        if isinstance(rec, BadRecord):
            out.bad_records += 1
            continue
        try:
            made = task.to_row(rec.data)
        except BadRow:
            out.bad += 1
            continue
        except Unlabeled:
            out.unlabeled += 1
            continue
        rows = made if isinstance(made, list) else [made]
        out.good_records += 1
        for k, row in enumerate(rows):
            example = task.make_example(row, rec.location if len(rows) == 1 else f"{rec.location}#{k}")
            out.good += 1
            out.labels[example.answer] += 1
            out.rows.append(row)
            out.examples.append(example)
    return out
