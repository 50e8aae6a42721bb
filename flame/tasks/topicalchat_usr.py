"""USR Topical-Chat (Mehri & Eskenazi 2020, "USR: An Unsupervised and Reference Free Evaluation Metric for
Dialog Generation"): 60 Topical-Chat dialogue contexts × 6 responses (original and new human responses, argmax and
three nucleus-sampling model outputs), each rated by 3 annotators on six qualities.

File: ``topicalchat_usr/usr_topical_chat.json`` (UniEval's processed copy). In that copy ``source`` holds the
dialogue history (turns separated by newlines), ``context`` the knowledge fact the response was conditioned on
("_nofact" when none was given) and ``system_output`` the response; ``scores`` holds the mean of the annotators
for each quality on its own scale. One pointwise task per quality, label = mean rounded half up on that scale,
raw mean in ``metadata["score"]``. Nothing is left out.
"""

from __future__ import annotations

from functools import partial

from flame.data.preprocess import to_float
from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType, score_labels

SOURCE = LocalFiles("topicalchat_usr/usr_topical_chat.json")
LICENSE = "unstated (USR Topical-Chat; MIT repo UniEval)"
NO_FACT = "_nofact"

# The USR annotation questions (Mehri & Eskenazi 2020, §4.2), with each quality's own scale.
ASPECTS = {
    "understandability": (
        0,
        1,
        "Is the response understandable in the context of the dialogue history? 0 means it is not "
        "understandable, 1 means it is",
    ),
    "naturalness": (
        1,
        3,
        "Is the response naturally written, like something a person would naturally say? 1 means unnatural, "
        "2 somewhat natural, 3 natural",
    ),
    "coherence": (
        1,
        3,
        "Does the response maintain the context, serving as a valid continuation of the dialogue history? "
        "1 means it does not, 2 somewhat, 3 it does",
    ),
    "engagingness": (
        1,
        3,
        "Is the response dull or interesting? 1 means dull, 2 somewhat interesting, 3 interesting",
    ),
    "groundedness": (
        0,
        1,
        "Given the fact that the response is conditioned on, does the response use that fact? 0 means it does "
        "not use the fact, 1 means it does",
    ),
    "overall": (
        1,
        5,
        "Given the qualities above, what is your overall impression of the response? 1 means very bad, "
        "5 very good",
    ),
}


def conversation_text(history: str) -> str:
    """The dialogue history as one turn per line (the file separates turns with ' \\n ')."""
    return "\n".join(turn.strip() for turn in history.split("\n") if turn.strip())


def usr_row(record: dict, aspect: str, low: int, high: int) -> Row:
    scores = record.get("scores")
    if not isinstance(scores, dict):
        raise BadRow("missing 'scores'")
    if scores.get(aspect) is None:
        raise BadRow(f"missing score {aspect!r}")
    score = to_float(scores[aspect], aspect)
    if not low <= score <= high:
        raise BadRow(f"{aspect} {score} outside [{low}, {high}]")
    conversation = conversation_text(require_text(record, "source"))
    if not conversation:
        raise BadRow("empty field 'source'")
    fact = require_text(record, "context")
    return Row(
        inputs={
            "conversation": conversation,
            "fact": "(no fact was given)" if fact == NO_FACT else fact,
            "response": require_text(record, "system_output", allow_empty=True),
        },
        answer=str(int(score + 0.5)),
        metadata={"score": score, "system": str(record.get("system_id", ""))},
    )


for _aspect, (_low, _high, _question) in ASPECTS.items():
    register_task(
        Task(
            name=f"topicalchat_usr_{_aspect}_pointwise_v1",
            dataset="topicalchat_usr",
            task_type=TaskType.POINTWISE,
            capability="factuality" if _aspect == "groundedness" else "general_quality",
            license=LICENSE,
            title=f"How would you rate the {_aspect} of the response to the knowledge-grounded conversation?",
            description=(
                "In this task, you will be shown a conversation between two people chatting about a topic, a "
                "fact from a knowledge source that the next speaker could use, and a candidate next response. "
                f"Rate the response's {_aspect}. {_question}. "
                f"Answer with an integer from {_low} (worst) to {_high} (best)."
            ),
            source=SOURCE,
            to_row=partial(usr_row, aspect=_aspect, low=_low, high=_high),
            labels=score_labels(_low, _high),
            hub=None,
            notes="Label = mean of the USR annotators rounded half up on the quality's own scale.",
        )
    )
