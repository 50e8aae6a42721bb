"""SummEval (Fabbri et al. 2021): 100 CNN/DM articles × 16 systems, four aspects rated 1-5 by 3 experts.

Held out: evaluation only (pointwise benchmark of the paper's SummFeedback kind).
"""

from __future__ import annotations

from functools import partial

from flame.data.sources import HubDataset, LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType, score_labels

SOURCE = LocalFiles("summeval/summeval_expert_avg.jsonl.gz")
LICENSE = "MIT"

# From the SummEval annotation guideline (Fabbri et al. 2021, §4.1 "Human annotations").
ASPECTS = {
    "coherence": "the collective quality of all sentences: the summary should be well-structured and "
    "well-organized, building from sentence to sentence to a coherent body of information about a topic, "
    "not a heap of related information",
    "consistency": "the factual alignment between the summary and the source: a factually consistent "
    "summary contains only statements that are entailed by the source document; penalize hallucinated facts",
    "fluency": "the quality of individual sentences: free of formatting problems, capitalization errors or "
    "obviously ungrammatical sentences (fragments, missing components) that make the text hard to read",
    "relevance": "the selection of important content from the source: the summary should include only "
    "important information from the source document; penalize redundancies and excess information",
}


def score_to_label(mean: float, low: int = 1, high: int = 5) -> str:
    """The mean of several raters, rounded half up to the nearest point of the scale."""
    if not low <= mean <= high:
        raise BadRow(f"score {mean} outside [{low}, {high}]")
    return str(int(mean + 0.5))


def summeval_row(record: dict, aspect: str) -> Row:
    try:
        score = float(record[aspect])
    except (KeyError, TypeError, ValueError):
        raise BadRow(f"missing or non-numeric {aspect!r}") from None
    return Row(
        inputs={"article": require_text(record, "article"), "summary": require_text(record, "summary")},
        answer=score_to_label(score),
        metadata={"score": score, "system": record.get("summary_id", "")},
    )


for _aspect, _definition in ASPECTS.items():
    register_task(
        Task(
            name=f"summeval_{_aspect}_pointwise_v1",
            dataset="summeval",
            task_type=TaskType.POINTWISE,
            capability="factuality" if _aspect == "consistency" else "general_quality",
            license=LICENSE,
            title=f"How would you rate the {_aspect} of the summary of the news article?",
            description=(
                f"In this task, you will be shown a news article and a summary of it. Rate the {_aspect} of "
                f"the summary, that is {_definition}. Answer with an integer from 1 (worst) to 5 (best)."
            ),
            source=SOURCE,
            to_row=partial(summeval_row, aspect=_aspect),
            labels=score_labels(1, 5),
            eval_only=True,
            hub=HubDataset("mteb/summeval", split="test"),
        )
    )
