"""Q² (Honovich et al. 2021): factual consistency of knowledge-grounded dialogue responses (Wizard of
Wikipedia), annotated by the Q² authors.

Files (``q2_dialogue_consistency/``): ``{dodeca,memnet}_{consistent,inconsistent}.csv`` (150 responses each;
the file says the label) and ``cross_annotation.csv`` (544 dialogue turns, each with the ``dodeca_response``
and the ``memnet_response`` and their labels ``dodeca_label``/``memnet_label``). A row of every file carries
the ``knowledge`` sentence the system was given, the previous user turn (``message``), ``topic``, and the
human ``gold`` response (not shown).

Label direction (checked on the files, contrary to the MANIFEST's "1=consistent"): in cross_annotation a
label of 1 means INCONSISTENT. All 600 responses of the four per-label files reappear in cross_annotation,
and every one from a ``*_consistent`` file has label 0 there, every one from an ``*_inconsistent`` file label 1.

A ``Joined`` source therefore reads all five files and yields one record per distinct (knowledge, message,
response), with every label that any file gives it; ``to_row`` makes one Yes/No row (Yes = consistent) and
raises ``Unlabeled`` if the files disagree (none do). 1088 responses: the 600 of the per-label files and
488 more that only cross_annotation labels. ``metadata["subset"]`` = the system (dodeca or memnet).
78 responses open the dialogue (empty ``message``): their CONTEXT has no conversation field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flame.data.preprocess import knowledge_dialogue_inputs
from flame.data.sources import BadRecord, Joined, LocalFiles, Record
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task
from flame.types import YES_NO, TaskType

LICENSE = "MIT"
DIR = "q2_dialogue_consistency"
LABEL_FILES = {
    "dodeca_consistent.csv": ("dodeca", True),
    "dodeca_inconsistent.csv": ("dodeca", False),
    "memnet_consistent.csv": ("memnet", True),
    "memnet_inconsistent.csv": ("memnet", False),
}
CROSS_FILE = "cross_annotation.csv"
PATHS = tuple(f"{DIR}/{name}" for name in (*LABEL_FILES, CROSS_FILE))


def cross_label(value) -> bool | None:
    """cross_annotation's 0/1 label as 'consistent' (0 -> True, 1 -> False); None when not 0/1."""
    text = str(value).strip() if value is not None else ""
    return {"0": True, "1": False}.get(text)


def q2_records(root: Path) -> Iterator[Record | BadRecord]:
    merged: dict[tuple[str, str, str], dict] = {}

    def add(location: str, data: dict, system: str, response, label, origin: str):
        key = tuple(str(x or "").strip() for x in (data.get("knowledge"), data.get("message"), response))
        entry = merged.setdefault(
            key,
            {
                "location": location,
                "knowledge": data.get("knowledge"),
                "message": data.get("message"),
                "response": response,
                "system": system,
                "topic": data.get("topic", ""),
                "episode_idx": data.get("episode_idx", ""),
                "round": data.get("round", ""),
                "labels": [],
            },
        )
        entry["labels"].append({"file": origin, "consistent": label})

    for name, (system, consistent) in LABEL_FILES.items():
        for rec in LocalFiles(f"{DIR}/{name}").records(root):
            if isinstance(rec, BadRecord):
                yield rec
                continue
            add(rec.location, rec.data, system, rec.data.get("response"), consistent, name)
    for rec in LocalFiles(f"{DIR}/{CROSS_FILE}").records(root):
        if isinstance(rec, BadRecord):
            yield rec
            continue
        for system in ("dodeca", "memnet"):
            raw = rec.data.get(f"{system}_label")
            add(
                f"{rec.location}:{system}",
                rec.data,
                system,
                rec.data.get(f"{system}_response"),
                cross_label(raw) if cross_label(raw) is not None else f"bad:{raw}",
                CROSS_FILE,
            )
    for entry in merged.values():
        yield Record(entry.pop("location"), entry)


def q2_row(record: dict) -> Row:
    labels = record.get("labels")
    if not isinstance(labels, list) or not labels:
        raise BadRow("no labels")
    values = [lab.get("consistent") for lab in labels]
    for v in values:
        if not isinstance(v, bool):
            raise BadRow(f"label is not 0/1: {str(v).removeprefix('bad:')!r}")
    if len(set(values)) > 1:
        raise Unlabeled(f"files disagree: {labels}")
    return Row(
        inputs=knowledge_dialogue_inputs(record),
        answer="Yes" if values[0] else "No",
        metadata={
            "subset": record.get("system", ""),
            "topic": record.get("topic", ""),
            "files": [lab.get("file") for lab in labels],
        },
    )


register_task(
    Task(
        name="q2_dialogue_consistency_consistency_classification_v1",
        dataset="q2_dialogue_consistency",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is the dialogue response factually consistent with the knowledge?",
        description=(
            "In this task, you will be shown a knowledge sentence from Wikipedia, the user's last turn in a "
            "conversation, and the response a dialogue system generated from that knowledge. Following the Q² "
            "annotation, the response is consistent if all the factual information it states is supported by "
            "the knowledge, and inconsistent if any of it contradicts the knowledge or cannot be verified from "
            "it; purely personal or conversational statements (opinions, feelings) do not make it "
            "inconsistent. Answer 'Yes' if the response is consistent with the knowledge, or 'No' if it is not."
        ),
        source=Joined(q2_records, paths=PATHS),
        to_row=q2_row,
        labels=YES_NO,
        hub=None,
        notes="All five files merged per response; cross_annotation label 1 = inconsistent (checked).",
    )
)
