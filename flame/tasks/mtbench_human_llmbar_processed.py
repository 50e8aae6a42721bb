"""MT-Bench expert human judgments (Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench and Chatbot
Arena"), as processed by the LLMBar authors (Zeng et al. 2024, "Evaluating Large Language Models at Evaluating
Instruction Following").

File: ``mtbench_human_llmbar_processed/mtbench_human_pairs.json``, 200 pairs over 75 first-turn MT-Bench
questions: ``input`` (the question), ``output_1``/``output_2`` (answers of two chat models) and ``label`` in
{1, 2}, the output the expert annotators (graduate students) preferred. LLMBar kept single-turn pairs on which
the experts agreed and dropped ties, so the task has no tie label. The data's own output_1/output_2 order is
kept (the processed file's order, already balanced: 101 × 1 and 99 × 2).

One pairwise task, evaluation only. ``llmbar_row`` is shared with the LLMEval^2 and FairEval modules (the
same processed format). A label other than 1/2 is a ``BadRow``, a missing label ``Unlabeled``; an empty input
is a ``BadRow``, empty outputs are kept.
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import PAIRWISE_LABELS, TaskType

LABELS = {1: "A", 2: "B"}


def llmbar_row(record: dict) -> Row:
    """A pair in LLMBar's processed format: input, output_1, output_2, label 1/2 (source order kept)."""
    label = record.get("label")
    if label is None:
        raise Unlabeled("no label")
    if isinstance(label, str) and label.strip().isdigit():
        label = int(label.strip())
    if isinstance(label, bool) or label not in LABELS:
        raise BadRow(f"label {label!r} is not 1 or 2")
    return Row(
        inputs={
            "prompt": require_text(record, "input"),
            "response A": require_text(record, "output_1", allow_empty=True),
            "response B": require_text(record, "output_2", allow_empty=True),
        },
        answer=LABELS[label],
    )


register_task(
    Task(
        name="mtbench_human_llmbar_processed_preference_pairwise_v1",
        dataset="mtbench_human_llmbar_processed",
        task_type=TaskType.PAIRWISE,
        capability="general_quality",
        license="CC-BY-4.0",
        title="Which of the two AI assistant responses to the user question is better?",
        description=(
            "In this task, you will be shown a user question and the responses of two AI assistants. Choose the "
            "assistant that follows the user's instructions and answers the question better, considering "
            "helpfulness, relevance, accuracy, depth, creativity and level of detail. Do not let the order or the "
            "length of the responses influence your choice. Answer 'A' if Response A is better, 'B' if Response "
            "B is better."
        ),
        source=LocalFiles("mtbench_human_llmbar_processed/mtbench_human_pairs.json"),
        to_row=llmbar_row,
        labels=PAIRWISE_LABELS,
        eval_only=True,
        notes="LLMBar-processed subset (ties and disagreements removed); the raw judgments are on the hub as "
        "lmsys/mt_bench_human_judgments, in a different format.",
    )
)
