"""Registrations: the held-out benchmarks of the foundation issue, held-in dev benchmarks, and suites.

Data, not logic: each benchmark names its dataset folder(s), task type, headline metric and group.
Suites are versioned lists: ``heldout_v1`` (every evaluation-only benchmark), ``heldin_v1`` (dev splits
of the training tasks, one benchmark per dataset and task type), ``all`` (both).
"""

from __future__ import annotations

from flame.benchmarks.aggrefact import WICE_BINARY
from flame.benchmarks.base import BENCHMARKS, SUITES, Benchmark, register_benchmark
from flame.types import TaskType

PAIRWISE_MEAN = "pairwise mean"
FACTUAL_MEAN = "factual-consistency mean"
POINTWISE_MEAN = "pointwise mean"

HELDOUT = (
    Benchmark(
        name="mtbench_human",
        description="MT-Bench human expert judgments (LLMBar-processed, no ties)",
        task_type=TaskType.PAIRWISE,
        group=PAIRWISE_MEAN,
        primary="accuracy",
        datasets=("mtbench_human_llmbar_processed",),
        # Zheng et al. 2023: expert humans agree with each other 63% counting ties, 81% without.
        human={"accuracy": 0.81},
        human_note="expert–expert agreement without ties (Zheng et al. 2023)",
    ),
    Benchmark(
        name="pandalm",
        description="PandaLM test set (majority of 3 annotators; gold ties excluded and counted)",
        task_type=TaskType.PAIRWISE,
        group=PAIRWISE_MEAN,
        primary="accuracy",
        datasets=("pandalm_testset",),
    ),
    Benchmark(
        name="llmeval2",
        description="LLMEval² human preferences (LLMBar-processed)",
        task_type=TaskType.PAIRWISE,
        group=PAIRWISE_MEAN,
        primary="accuracy",
        datasets=("llmeval2_llmbar_processed",),
    ),
    Benchmark(
        name="faireval",
        description="FairEval (Vicuna-80, ChatGPT vs Vicuna) human labels (LLMBar-processed)",
        task_type=TaskType.PAIRWISE,
        group=PAIRWISE_MEAN,
        primary="accuracy",
        datasets=("faireval_llmbar_processed",),
    ),
    Benchmark(
        name="summac",
        description="SummaC benchmark: balanced accuracy per subset, averaged (AggreFact-style)",
        task_type=TaskType.CLASSIFICATION,
        group=FACTUAL_MEAN,
        primary="balanced_accuracy",
        datasets=("summac_benchmark",),
    ),
    Benchmark(
        name="wice",
        description="WiCE claims, binarised as LLM-AggreFact does: supported vs. partially/not supported",
        task_type=TaskType.CLASSIFICATION,
        group=FACTUAL_MEAN,
        primary="balanced_accuracy",
        datasets=("wice",),
        binarize=WICE_BINARY,
        binary_labels=("Yes", "No"),
    ),
    Benchmark(
        name="summeval",
        description="SummEval expert ratings, 4 aspects: correlations with the mean expert score",
        task_type=TaskType.POINTWISE,
        group=POINTWISE_MEAN,
        primary="spearman",
        datasets=("summeval",),
    ),
)

# Evaluation-only too, but not one of the foundation issue's held-out benchmarks: XSumFaith's articles
# are SummaC's XSumFaith documents, so it would count one source twice in the factual mean (no group).
EXTRA = (
    Benchmark(
        name="xsumfaith",
        description="XSum hallucination annotations (Maynez et al.): factuality and faithfulness",
        task_type=TaskType.CLASSIFICATION,
        group=None,
        primary="balanced_accuracy",
        datasets=("xsumfaith",),
    ),
)

for _bench in (*HELDOUT, *EXTRA):
    register_benchmark(_bench)

PRIMARY = {
    TaskType.PAIRWISE: "accuracy",
    TaskType.CLASSIFICATION: "balanced_accuracy",
    TaskType.POINTWISE: "spearman",
}


def heldin_name(dataset: str, task_type: TaskType | str) -> str:
    return f"{dataset}_{TaskType(task_type)}_dev"


def heldin_benchmarks() -> list[str]:
    """One dev-split benchmark per (training dataset, task type); registered on first use, since the
    list follows whatever tasks are registered."""
    from flame.data.task import load_all_tasks

    pairs = sorted(
        {
            (t.dataset, TaskType(t.task_type))
            for t in load_all_tasks().values()
            if not t.eval_only and t.task_type != TaskType.GENERATIVE and t.derived_from is None
        }
    )
    names = []
    for dataset, task_type in pairs:
        name = heldin_name(dataset, task_type)
        if name not in BENCHMARKS:
            register_benchmark(
                Benchmark(
                    name=name,
                    description=f"{dataset} {task_type} tasks, dev split (held in: trained on the train split)",
                    task_type=task_type,
                    group=f"held-in {task_type} mean",
                    primary=PRIMARY[task_type],
                    datasets=(dataset,),
                    split="dev",
                    eval_only=False,
                )
            )
        names.append(name)
    return names


SUITES.add("heldout_v1", tuple(b.name for b in HELDOUT))
SUITES.add("heldin_v1", heldin_benchmarks)
SUITES.add("all", lambda: [*(b.name for b in HELDOUT), *(b.name for b in EXTRA), *heldin_benchmarks()])
