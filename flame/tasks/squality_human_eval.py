"""SQuALITY human evaluation (Wang et al. 2022, "SQuALITY: Building a Long-Document Summarization Dataset the Hard
Way"): question-focused summaries of 20 public-domain science-fiction stories (Project Gutenberg, via QuALITY),
5 questions per story, 3 responses per question (BART, BART+DPR and a human-written reference), each rated 0-100 by
3 trained writers who had read the story, for correctness, selection of relevant content and overall quality.

Files: ``squality_human_eval/squality_human_eval_all-responses.jsonl.gz`` (ratings; question keys "0".."4") and
``squality_human_eval/squality_v1-3_txt_test_passages.jsonl.gz`` (story text and question texts). A Joined reader
attaches the story (``metadata.passage_id`` = ``passage-id``) and the question (key k = ``question_number`` k+1)
to every (question, system) response. One task per property; label = the mean of the 3 reviewers (0-100) mapped
onto 1-5, raw mean in ``metadata["score"]``. Stories are kept whole (truncation happens in the rater).
``squality_human_eval_<aspect>_pointwise_v2`` (issue 19.2): the model responses (BART, BART+DPR) with the
human-written response to the same question shown as the CONTEXT field ``reference answer`` between the
question and the response; the human response's own rows are left out (judged against itself). v1 keeps its text.
Left out: the per-reviewer rankings (same judgments as the ratings) and the span comments in ``annotations``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from flame.adhoc import REFERENCE_FIELD
from flame.data.preprocess import rescale_to_label, to_float
from flame.data.sources import BadRecord, Joined, Record, read_jsonl_records
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType, score_labels

RESPONSES = "squality_human_eval/squality_human_eval_all-responses.jsonl.gz"
PASSAGES = "squality_human_eval/squality_v1-3_txt_test_passages.jsonl.gz"
LICENSE = "CC-BY-4.0"
HUMAN = "human"  # the system name of the human-written response: the reference of the v2 tasks


def read_squality(root: Path) -> Iterator[Record | BadRecord]:
    """One record per rated response: story, question, system, response and the reviewers' ratings."""
    passages: dict[str, dict] = {}
    for rec in read_jsonl_records(root / PASSAGES, PASSAGES):
        if isinstance(rec, BadRecord):
            yield rec
            continue
        pid = str((rec.data.get("metadata") or {}).get("passage_id", ""))
        passages[pid] = rec.data
    for rec in read_jsonl_records(root / RESPONSES, RESPONSES):
        if isinstance(rec, BadRecord):
            yield rec
            continue
        pid = str(rec.data.get("passage-id", ""))
        passage = passages.get(pid)
        if passage is None:
            yield BadRecord(rec.location, f"passage {pid!r} not in {PASSAGES}")
            continue
        questions = {
            str(q.get("question_number")): q.get("question_text") for q in passage.get("questions") or []
        }
        for key, by_system in (rec.data.get("questions") or {}).items():
            if not isinstance(by_system, dict):
                yield BadRecord(f"{rec.location}:q{key}", "question entry is not an object")
                continue
            number = str(int(key) + 1) if str(key).isdigit() else ""
            human = by_system.get(HUMAN)
            for system, entry in by_system.items():
                if not isinstance(entry, dict):
                    yield BadRecord(f"{rec.location}:q{key}:{system}", "response entry is not an object")
                    continue
                yield Record(
                    f"{rec.location}:q{key}:{system}",
                    {
                        "passage_id": pid,
                        "story": passage.get("document"),
                        "question": questions.get(number),
                        "question_number": number,
                        "system": system,
                        "response": entry.get("response"),
                        "ratings": entry.get("overall"),
                        "human_response": human.get("response") if isinstance(human, dict) else None,
                    },
                )


def squality_row(record: dict, aspect: str) -> Row:
    ratings = record.get("ratings")
    if not isinstance(ratings, dict) or ratings.get(f"{aspect}-rating") is None:
        raise BadRow(f"missing {aspect}-rating")
    score = to_float(ratings[f"{aspect}-rating"], f"{aspect}-rating")
    return Row(
        inputs={
            "story": require_text(record, "story"),
            "question": require_text(record, "question"),
            "response": require_text(record, "response", allow_empty=True),
        },
        answer=rescale_to_label(score, 0.0, 100.0),
        metadata={
            "score": score,
            "system": str(record.get("system", "")),
            "passage_id": str(record.get("passage_id", "")),
            "question_number": str(record.get("question_number", "")),
        },
    )


def squality_v2_rows(record: dict, aspect: str) -> list[Row]:
    """A model response's row with the human response as reference; none for the human response itself."""
    if record.get("system") == HUMAN:
        return []
    row = squality_row(record, aspect)
    inputs = {
        "story": row.inputs["story"],
        "question": row.inputs["question"],
        REFERENCE_FIELD: require_text(record, "human_response"),
        "response": row.inputs["response"],
    }
    return [Row(inputs=inputs, answer=row.answer, metadata=row.metadata)]


# From SQuALITY's human-evaluation instructions (Wang et al. 2022, §6).
ASPECTS = {
    "correctness": (
        "How correct is the response to the question about the story?",
        "correctness: whether the statements in the response are factually accurate according to the story, "
        "with no invented or contradicting details",
    ),
    "selection": (
        "How well does the response select the story content relevant to the question?",
        "selection: whether the response includes the information from the story that is needed to answer the "
        "question, without missing important points or filling space with irrelevant details",
    ),
    "overall": (
        "How good is the response to the question about the story overall?",
        "overall quality: how well the response answers the question, taking correctness, coverage of the "
        "relevant content and readability into account",
    ),
}

for _aspect, (_title, _definition) in ASPECTS.items():
    register_task(
        Task(
            name=f"squality_human_eval_{_aspect}_pointwise_v1",
            dataset="squality_human_eval",
            task_type=TaskType.POINTWISE,
            capability="factuality" if _aspect == "correctness" else "general_quality",
            license=LICENSE,
            title=_title,
            description=(
                "In this task, you will be shown a short story, a question about it and a response that "
                "summarises the parts of the story that answer the question. Writers who had read the story "
                f"rated each response on a 0-100 scale for {_definition}. Rate the response on that scale mapped "
                "onto 1-5. Answer with an integer from 1 (worst) to 5 (best)."
            ),
            source=Joined(read_squality, paths=(RESPONSES, PASSAGES)),
            to_row=partial(squality_row, aspect=_aspect),
            labels=score_labels(1, 5),
            hub=None,
            notes="Label = mean of 3 reviewers' 0-100 ratings mapped onto 1-5; raw mean in metadata['score'].",
        )
    )

for _aspect, (_title, _definition) in ASPECTS.items():
    register_task(
        Task(
            name=f"squality_human_eval_{_aspect}_pointwise_v2",
            dataset="squality_human_eval",
            task_type=TaskType.POINTWISE,
            capability="factuality" if _aspect == "correctness" else "general_quality",
            license=LICENSE,
            title=_title,
            description=(
                "In this task, you will be shown a short story, a question about it, a reference response written "
                "by a writer who had read the story, and a response that summarises the parts of the story that "
                "answer the question. Writers who had read the story rated each response on a 0-100 scale for "
                f"{_definition}. Rate the response on that scale mapped onto 1-5; the reference shows what a good "
                "response covers. Answer with an integer from 1 (worst) to 5 (best)."
            ),
            source=Joined(read_squality, paths=(RESPONSES, PASSAGES)),
            to_row=partial(squality_v2_rows, aspect=_aspect),
            labels=score_labels(1, 5),
            hub=None,
            reference=REFERENCE_FIELD,
            notes="v1's BART and BART+DPR rows with the human-written response as 'reference answer'.",
        )
    )
