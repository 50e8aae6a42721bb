"""HANNA (Chhun et al. 2022, "Of Human Criteria and Automatic Metrics"): 96 WritingPrompts prompts × 11 stories
(one human-written, ten from story generation systems), each rated by 3 crowd workers on six criteria (1-5 Likert).

File: ``hanna/hanna_avg.jsonl.gz`` (the processed copy in maiush/PPairS, MIT), one line per story with the
prompt, the story and the mean of the three raters for each criterion. One task per criterion; a row is one
story, its label the rater mean rounded half up to the 1-5 scale (the raw mean is kept in ``metadata["score"]``).
Left out: the generating system's name (not in this copy) and the individual ratings (only means are stored).
"""

from __future__ import annotations

from functools import partial

from flame.data.preprocess import to_float
from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType, score_labels

SOURCE = LocalFiles("hanna/hanna_avg.jsonl.gz")
LICENSE = "MIT"

# HANNA's six criteria, worded as the annotators' questions (Chhun et al. 2022, Table 1).
CRITERIA = {
    "Relevance": (
        "how well does the story match its prompt",
        "1 means the story is unrelated to the prompt and 5 means it follows the prompt closely",
    ),
    "Coherence": (
        "how much does the story make sense",
        "1 means the story is incomprehensible or self-contradictory and 5 means it is perfectly logical and "
        "easy to follow",
    ),
    "Empathy": (
        "how well did you understand the characters' emotions, whether or not you agree with them",
        "1 means the characters' feelings are impossible to grasp and 5 means they are fully conveyed",
    ),
    "Surprise": (
        "how surprising is the end of the story",
        "1 means the ending is entirely predictable and 5 means it is unexpected while still fitting the story",
    ),
    "Engagement": (
        "how much did you engage with the story",
        "1 means the story is dull and 5 means the reader wants to keep reading and cares about it",
    ),
    "Complexity": (
        "how elaborate is the story",
        "1 means the story is minimal and flat and 5 means it has a rich plot, setting and characters",
    ),
}


def hanna_row(record: dict, criterion: str) -> Row:
    if criterion not in record or record[criterion] is None:
        raise BadRow(f"missing {criterion!r}")
    score = to_float(record[criterion], criterion)
    if not 1.0 <= score <= 5.0:
        raise BadRow(f"{criterion} {score} outside [1, 5]")
    return Row(
        inputs={
            "prompt": require_text(record, "prompt"),
            "story": require_text(record, "story", allow_empty=True),
        },
        answer=str(int(score + 0.5)),
        metadata={
            "score": score,
            "story_id": str(record.get("story_id", "")),
            "prompt_id": str(record.get("prompt_id", "")),
        },
    )


for _criterion, (_question, _scale) in CRITERIA.items():
    register_task(
        Task(
            name=f"hanna_{_criterion.lower()}_pointwise_v1",
            dataset="hanna",
            task_type=TaskType.POINTWISE,
            capability="general_quality",
            license=LICENSE,
            title=f"How would you rate the {_criterion.lower()} of the story written for the prompt?",
            description=(
                f"In this task, you will be shown a writing prompt and a short story written for it. Rate the "
                f"story's {_criterion.lower()}: {_question}? On the 5-point scale, {_scale}. "
                "Answer with an integer from 1 (worst) to 5 (best)."
            ),
            source=SOURCE,
            to_row=partial(hanna_row, criterion=_criterion),
            labels=score_labels(1, 5),
            hub=None,
            notes="Label = mean of 3 crowd raters rounded half up; raw mean in metadata['score'].",
        )
    )
