"""QAGS (Wang et al. 2020): human factual-consistency judgments of CNN/DM (QAGS-C) and XSum (QAGS-X) summaries.

Files: ``qags/qags_cnndm.json`` (235) and ``qags/qags_xsum.json.gz`` (239), UniEval's copies (JSON lists).
A record is one (article, system summary) pair: ``source`` (the article), ``system_output``, and
``scores.consistency`` = the fraction of the summary's sentences that the majority of three annotators
judged consistent with the article (each sentence was judged yes/no).

Choice: classification, not pointwise. The score is a fraction whose denominator is the number of
summary sentences (3-4 for CNN/DM, 1 for the one-sentence XSum summaries), not a rating scale, so a 1-5
mapping would invent levels. The binary question "is every sentence consistent?" (score == 1.0 -> Yes,
else No) is exactly what the annotators answered for XSum and is the SummaC convention for CNN/DM; the
raw fraction stays in ``metadata["score"]`` for correlations. One task per subset (their summaries differ
in kind: multi-sentence extractive-ish vs one-sentence abstractive). Nothing is left out.
"""

from __future__ import annotations

import ast
from functools import partial

from flame.data.preprocess import to_float
from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import YES_NO, TaskType

LICENSE = "unstated (QAGS; copy from MIT repo UniEval)"

SUBSETS = {
    "cnndm": ("qags/qags_cnndm.json", "a CNN/DailyMail news article and a multi-sentence summary of it"),
    "xsum": ("qags/qags_xsum.json.gz", "a BBC news article and a one-sentence summary of it (XSum)"),
}


def consistency_score(scores) -> float:
    if isinstance(scores, str):
        try:
            scores = ast.literal_eval(scores)
        except (ValueError, SyntaxError):
            raise BadRow(f"scores is not a dict: {scores[:40]!r}") from None
    if not isinstance(scores, dict) or "consistency" not in scores:
        raise BadRow("missing scores.consistency")
    score = to_float(scores["consistency"], "scores.consistency")
    if not 0.0 <= score <= 1.0:
        raise BadRow(f"scores.consistency {score} outside [0, 1]")
    return score


def qags_row(record: dict, subset: str) -> Row:
    score = consistency_score(record.get("scores"))
    return Row(
        inputs={"article": require_text(record, "source"), "summary": require_text(record, "system_output")},
        answer="Yes" if score == 1.0 else "No",
        metadata={"subset": subset, "score": score, "doc_id": record.get("doc_id", "")},
    )


for _subset, (_path, _what) in SUBSETS.items():
    register_task(
        Task(
            name=f"qags_{_subset}_consistency_classification_v1",
            dataset="qags",
            task_type=TaskType.CLASSIFICATION,
            capability="factuality",
            license=LICENSE,
            title="Is every sentence of the summary factually consistent with the article?",
            description=(
                f"In this task, you will be shown {_what}. Following the QAGS annotation, read each sentence of "
                "the summary and decide whether it is factually consistent with the article, i.e. whether "
                "everything it states is supported by the article; a sentence that contradicts the article or "
                "adds information not found in it is inconsistent. Answer 'Yes' if every sentence of the "
                "summary is consistent with the article, or 'No' if at least one is not."
            ),
            source=LocalFiles(_path),
            to_row=partial(qags_row, subset=_subset),
            labels=YES_NO,
            hub=None,
            notes="QAGS-" + ("C" if _subset == "cnndm" else "X") + ": Yes iff scores.consistency == 1.0; "
            "raw fraction in metadata['score'].",
        )
    )
