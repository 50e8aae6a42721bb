"""Novikova et al. 2017 ("Why We Need New Evaluation Metrics for NLG"): data-to-text outputs of three systems
(LOLS, RNNLG/Wen, TGen/Dusek) for the BAGEL, SF Hotel and SF Restaurant dialogue-act datasets, each rated by
crowd workers on a 6-point Likert scale for informativeness, naturalness and quality.

File: ``nlg_bagel_sfhot_sfres/emnlp17_bagel_sfhot_sfres_medians.csv`` (the authors' release, one row per system
output with the meaning representation ``mr``, the output ``sys_ref`` and the median human rating of each
aspect). One task per aspect; a row is one output, its label the median rounded half up to 1-6 (medians of an
even number of ratings can end in .5), raw median in ``metadata["score"]``, subset = the ``dataset`` column.
Left out: the automatic metric columns (TER, BLEU, ...) and the binned labels (derived from the same medians).
"""

from __future__ import annotations

from functools import partial

from flame.data.preprocess import to_float
from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType, score_labels

SOURCE = LocalFiles("nlg_bagel_sfhot_sfres/emnlp17_bagel_sfhot_sfres_medians.csv")
LICENSE = "MIT"

# The questions of the crowd-sourcing task (Novikova et al. 2017, §4 "Human data collection").
ASPECTS = {
    "informativeness": (
        "Is the utterance providing enough useful information? An informative utterance conveys all the "
        "information given in the meaning representation"
    ),
    "naturalness": (
        "Could the utterance have been produced by a native speaker? A natural utterance sounds like something a "
        "person would say in this dialogue situation"
    ),
    "quality": (
        "How do you judge the overall quality of the utterance in terms of its grammatical correctness and "
        "fluency?"
    ),
}


def nlg_row(record: dict, aspect: str) -> Row:
    if record.get(aspect) in (None, "", "NA"):
        raise BadRow(f"missing {aspect!r}")
    score = to_float(record[aspect], aspect)
    if not 1.0 <= score <= 6.0:
        raise BadRow(f"{aspect} {score} outside [1, 6]")
    return Row(
        inputs={
            "meaning representation": require_text(record, "mr"),
            "utterance": require_text(record, "sys_ref", allow_empty=True),
        },
        answer=str(int(score + 0.5)),
        metadata={
            "score": score,
            "subset": require_text(record, "dataset"),
            "system": str(record.get("system", "")),
            "mr_type": str(record.get("mr_type", "")),
        },
    )


for _aspect, _question in ASPECTS.items():
    register_task(
        Task(
            name=f"nlg_bagel_sfhot_sfres_{_aspect}_pointwise_v1",
            dataset="nlg_bagel_sfhot_sfres",
            task_type=TaskType.POINTWISE,
            capability="general_quality",
            license=LICENSE,
            title=f"How would you rate the {_aspect} of the utterance generated from the meaning representation?",
            description=(
                "In this task, you will be shown a meaning representation (a dialogue act with slot-value pairs "
                "for a restaurant or hotel information system; 'X' stands for a delexicalised value) and an "
                f"utterance a system generated to express it. Rate its {_aspect}: {_question}. "
                "Answer with an integer from 1 (worst) to 6 (best)."
            ),
            source=SOURCE,
            to_row=partial(nlg_row, aspect=_aspect),
            labels=score_labels(1, 6),
            hub=None,
            notes="Label = median crowd rating rounded half up; raw median in metadata['score'].",
        )
    )
