"""FairEval human preferences (Wang et al. 2023, "Large Language Models are not Fair Evaluators"), as
processed by the LLMBar authors (Zeng et al. 2024).

File: ``faireval_llmbar_processed/faireval_pairs.json``, 66 pairs: ``input`` (a Vicuna-80 question),
``output_1``/``output_2`` (the answers of ChatGPT and Vicuna-13B, in the LLMBar authors' order) and ``label``
in {1, 2}, the answer the three annotators preferred by majority. LLMBar dropped ties, so the task has no tie
label; the data's own order is kept (41 × 1, 25 × 2).

One pairwise task, evaluation only, with the row function shared with MT-Bench (``llmbar_row``).
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import Task, register_task
from flame.tasks.mtbench_human_llmbar_processed import llmbar_row
from flame.types import PAIRWISE_LABELS, TaskType

register_task(
    Task(
        name="faireval_llmbar_processed_preference_pairwise_v1",
        dataset="faireval_llmbar_processed",
        task_type=TaskType.PAIRWISE,
        capability="general_quality",
        license="unstated (FairEval; MIT repo LLMBar)",
        title="Which of the two AI assistant answers to the user question is better?",
        description=(
            "In this task, you will be shown a user question and the answers of two AI assistants. Judge which "
            "answer is more helpful, relevant, accurate and detailed, regardless of the order in which the "
            "answers are shown and of their length. Answer 'A' if Response A is better, 'B' if Response B is "
            "better."
        ),
        source=LocalFiles("faireval_llmbar_processed/faireval_pairs.json"),
        to_row=llmbar_row,
        labels=PAIRWISE_LABELS,
        eval_only=True,
        notes="LLMBar-processed subset of FairEval (ties removed). Upstream licence unstated.",
    )
)
