"""Tulu-1 human evaluation (Wang et al. 2023, "How Far Can Camels Go?", §5 and App. human evaluation).

File: ``tulu1_human_eval/eval_annotations_tulu_1.csv.gz`` (the upstream xlsx converted to csv, all columns kept),
1,150 annotations of 332 instructions (Self-Instruct user-oriented tasks and Vicuna questions). Each record
shows one annotator a prompt and two completions (``completion_a``/``completion_b``, from Tulu 7B/65B,
Tulu-human-only 65B or ChatGPT). The annotator first marked each completion as acceptable or not
(``completion_{a,b}_is_acceptable`` yes/no), then gave a 5-way preference (``preference``: a-is-better,
a-is-slightly-better, tie, b-is-slightly-better, b-is-better).

Two tasks:
- ``tulu1_human_eval_preference_pairwise_v1``: the preference, with "slightly better" folded into better
  (A / B / tie). The data's own a/b order is kept (the annotation tool placed the models; a is not always
  the preferred one). The graded strength is in ``metadata["strength"]``.
- ``tulu1_human_eval_acceptability_classification_v1``: one Yes/No row per completion (two rows per record).

A missing preference or acceptability value raises ``Unlabeled``; any other value is a ``BadRow``. The
``instance_quality`` and ``comment`` columns are empty in every row and are left out.

Capability ``instruction_tuning``: annotators judged how well instruction-tuned models (Tulu, ChatGPT)
follow user instructions, the paper's instruction-tuning category.
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import PAIRWISE_LABELS_WITH_TIE, YES_NO, TaskType

SOURCE = LocalFiles("tulu1_human_eval/eval_annotations_tulu_1.csv.gz")
LICENSE = "Apache-2.0"

PREFERENCES = {
    "a-is-better": ("A", "clear"),
    "a-is-slightly-better": ("A", "slight"),
    "tie": ("tie", "tie"),
    "b-is-slightly-better": ("B", "slight"),
    "b-is-better": ("B", "clear"),
}
ACCEPTABLE = {"yes": "Yes", "no": "No"}


def preference_row(record: dict) -> Row:
    raw = str(record.get("preference") or "").strip().lower()
    if not raw:
        raise Unlabeled("no preference")
    if raw not in PREFERENCES:
        raise BadRow(f"preference {raw!r} is not one of {list(PREFERENCES)}")
    answer, strength = PREFERENCES[raw]
    return Row(
        inputs={
            "prompt": require_text(record, "prompt"),
            "response A": require_text(record, "completion_a", allow_empty=True),
            "response B": require_text(record, "completion_b", allow_empty=True),
        },
        answer=answer,
        metadata={
            "strength": strength,
            "model_a": record.get("model_a", ""),
            "model_b": record.get("model_b", ""),
            "evaluator": record.get("evaluator", ""),
            "instance_id": record.get("instance_id", ""),
        },
    )


def acceptability_rows(record: dict) -> list[Row]:
    prompt = require_text(record, "prompt")
    rows = []
    for side in ("a", "b"):
        raw = str(record.get(f"completion_{side}_is_acceptable") or "").strip().lower()
        if not raw:
            raise Unlabeled(f"no acceptability label for completion {side}")
        if raw not in ACCEPTABLE:
            raise BadRow(f"completion_{side}_is_acceptable {raw!r} is not yes/no")
        model = record.get(f"model_{side}", "")
        rows.append(
            Row(
                inputs={
                    "prompt": prompt,
                    "response": require_text(record, f"completion_{side}", allow_empty=True),
                },
                answer=ACCEPTABLE[raw],
                metadata={
                    "subset": model,
                    "model": model,
                    "evaluator": record.get("evaluator", ""),
                    "instance_id": record.get("instance_id", ""),
                },
            )
        )
    return rows


register_task(
    Task(
        name="tulu1_human_eval_preference_pairwise_v1",
        dataset="tulu1_human_eval",
        task_type=TaskType.PAIRWISE,
        capability="instruction_tuning",
        license=LICENSE,
        title="Which of the two responses to the user's instruction is better?",
        description=(
            "In this task, you will be shown a user's instruction and two responses from AI assistants. Compare "
            "the responses as a whole: which one better follows the instruction and is more helpful, correct and "
            "clearly written? If the two are of about equal quality, call it a tie. Answer 'A' if Response A is "
            "better, 'B' if Response B is better, or 'tie' if neither is better."
        ),
        source=SOURCE,
        to_row=preference_row,
        labels=PAIRWISE_LABELS_WITH_TIE,
        notes="'a/b-is-slightly-better' count as A/B (strength in metadata). Evaluators are the authors' team.",
    )
)

register_task(
    Task(
        name="tulu1_human_eval_acceptability_classification_v1",
        dataset="tulu1_human_eval",
        task_type=TaskType.CLASSIFICATION,
        capability="instruction_tuning",
        license=LICENSE,
        title="Is the response to the user's instruction acceptable?",
        description=(
            "In this task, you will be shown a user's instruction and a response from an AI assistant. Judge "
            "whether the response is acceptable: it follows the instruction and answers the request, and it has "
            "no significant errors (factual mistakes, harmful content, incoherence or unfinished text) that "
            "would make it unusable. Minor imperfections are fine. Answer 'Yes' if the response is acceptable, "
            "or 'No' if it is not."
        ),
        source=SOURCE,
        to_row=acceptability_rows,
        labels=YES_NO,
        notes="Two rows per annotation record (completion a and b); subset = the model that wrote the completion.",
    )
)
