"""PandaLM human-annotated test set (Wang et al. 2023, "PandaLM: An Automatic Evaluation Benchmark for LLM
Instruction Tuning Optimization").

File: ``pandalm_testset/pandalm_testset-v1.json``, 999 items: an instruction (from the Self-Instruct
user-oriented tasks; ``motivation_app`` names the app it came from) with an optional ``input``, and the
responses of two of five 7B models (``response1``/``response2``; ``cmp_key`` names them in that order).
Three annotators each chose ``annotator1..3`` in {0 = tie, 1 = response 1 is better, 2 = response 2 is
better}.

One pairwise task with ties, evaluation only; the label is the majority vote of the three annotators. A
three-way split (one vote each) has no majority and would raise ``Unlabeled`` (none occurs in this file:
all 999 items have a majority, 105 of them for a tie). The data's own response1/response2 order is kept.
The prompt is the instruction followed by the input (one item has a blank instruction and its whole
prompt in ``input``: kept). Quirks: 6 responses are the JSON value ``true`` instead of text (the original
string, probably "True", was lost in a JSON round trip), which is a ``BadRow``; 54 empty responses are kept
(an empty answer is a legitimately bad response).
"""

from __future__ import annotations

from flame.data.preprocess import majority_vote
from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import PAIRWISE_LABELS_WITH_TIE, TaskType

SOURCE = LocalFiles("pandalm_testset/pandalm_testset-v1.json")
LICENSE = "Apache-2.0"
VOTES = {0: "tie", 1: "A", 2: "B"}


def pandalm_row(record: dict) -> Row:
    instruction = str(record.get("instruction") or "").strip()
    extra = record.get("input")
    if extra is not None and not isinstance(extra, str):
        raise BadRow(f"field 'input' is {type(extra).__name__}, not text")
    prompt = "\n\n".join(part for part in (instruction, (extra or "").strip()) if part)
    if not prompt:
        raise BadRow("empty instruction and input")
    votes = []
    for k in ("annotator1", "annotator2", "annotator3"):
        vote = record.get(k)
        if vote is None:
            continue
        if isinstance(vote, bool) or vote not in VOTES:
            raise BadRow(f"{k} = {vote!r} is not 0, 1 or 2")
        votes.append(VOTES[vote])
    if not votes:
        raise Unlabeled("no annotator votes")
    answer = majority_vote(votes)
    if answer is None:
        raise Unlabeled("annotators split with no majority")
    return Row(
        inputs={
            "prompt": prompt,
            "response A": require_text(record, "response1", allow_empty=True),
            "response B": require_text(record, "response2", allow_empty=True),
        },
        answer=answer,
        metadata={
            "subset": record.get("motivation_app", ""),
            "models": record.get("cmp_key", ""),
            "votes": "".join({"A": "1", "B": "2", "tie": "0"}[v] for v in votes),
        },
    )


register_task(
    Task(
        name="pandalm_testset_preference_pairwise_v1",
        dataset="pandalm_testset",
        task_type=TaskType.PAIRWISE,
        capability="general_quality",
        license=LICENSE,
        title="Which of the two responses better completes the instruction?",
        description=(
            "In this task, you will be shown an instruction (with its input, if any) and two responses from "
            "instruction-tuned language models. Judge which response better completes the instruction, "
            "considering whether it follows the instruction, is correct and relevant, and is clear, concise and "
            "well formatted. If both are equally good or equally bad, call it a tie. Answer 'A' if Response A is "
            "better, 'B' if Response B is better, or 'tie' if they are of equal quality."
        ),
        source=SOURCE,
        to_row=pandalm_row,
        labels=PAIRWISE_LABELS_WITH_TIE,
        eval_only=True,
        notes="Majority of 3 annotators; response1/response2 order kept; cmp_key in metadata['models'].",
    )
)
