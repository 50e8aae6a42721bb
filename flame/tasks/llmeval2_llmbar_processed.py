"""LLMEval^2 human preferences (Zhang et al. 2023, "Wider and Deeper LLM Networks are Fairer LLM
Evaluators"), as processed by the LLMBar authors (Zeng et al. 2024).

File: ``llmeval2_llmbar_processed/llmeval2_pairs.json``, 200 pairs: ``input`` (an instruction from one of
many task types: open QA, summarisation, code, maths, writing, ...), ``output_1``/``output_2`` and ``label``
in {1, 2}, the output human annotators preferred. LLMBar dropped ties and pairs the annotators disagreed on,
so the task has no tie label; the data's own output_1/output_2 order is kept (92 × 1, 108 × 2).

One pairwise task, evaluation only, with the row function shared with MT-Bench (``llmbar_row``). One record
has an empty ``output_2`` (an unfinished code answer, labelled 1): kept, as an empty answer is a legitimately
bad response.
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import Task, register_task
from flame.tasks.mtbench_human_llmbar_processed import llmbar_row
from flame.types import PAIRWISE_LABELS, TaskType

register_task(
    Task(
        name="llmeval2_llmbar_processed_preference_pairwise_v1",
        dataset="llmeval2_llmbar_processed",
        task_type=TaskType.PAIRWISE,
        capability="general_quality",
        license="unstated (LLMEval^2; MIT repo LLMBar)",
        title="Which of the two responses to the instruction is better?",
        description=(
            "In this task, you will be shown an instruction and two responses to it. Judge which response is "
            "better overall: it should complete the instruction correctly and accurately, be relevant and "
            "helpful, and be fluent and logically coherent. Answer 'A' if Response A is better, 'B' if "
            "Response B is better."
        ),
        source=LocalFiles("llmeval2_llmbar_processed/llmeval2_pairs.json"),
        to_row=llmbar_row,
        labels=PAIRWISE_LABELS,
        eval_only=True,
        notes="LLMBar-processed subset of LLMEval^2 (ties and disagreements removed). Upstream licence unstated.",
    )
)
