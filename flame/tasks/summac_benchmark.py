"""SummaC benchmark (Laban et al. 2022): four summary-consistency subsets in one binary format.

Files: ``summac_benchmark/summac_{factcc,polytope,summeval,xsumfaith}.json[.gz]``, each an object keyed by
id. A record is one (document, summary) pair with a binary human label: ``label`` 1 = the summary (the
``claim``) is consistent with the document, 0 = inconsistent; the raw per-annotator votes are in
``annotations``. One classification task per subset (Yes = consistent), ``metadata["subset"]`` = the subset.

- FactCC (Kryscinski et al. 2020): 311 CNN/DM summary sentences checked by the FactCC authors.
- Polytope (Huang et al. 2020): 634 CNN/DM system summaries; in this file the label is 1 only when the
  annotators marked no error of any type (checked: all 42 label-1 rows have an empty ``errors`` list, and
  rows whose only error is an Omission or a Duplication are 0), so the description says so.
- SummEval (Fabbri et al. 2021): 100 summaries; consistent when all three experts gave consistency 5.
- XSumFaith (Maynez et al. 2020): 485 XSum summaries; consistent when the majority of the three workers
  marked no hallucinated span.

Held out: evaluation only (``eval_only=True``). Only SummaC's validation cut is in the snapshot (``cut`` is
"val", absent from the FactCC file). Overlaps: summac_summeval's articles are SummEval's, summac_xsumfaith
is a subset of the ``xsumfaith`` folder's judgments (that task is also evaluation-only for that reason).
Nothing is left out.
"""

from __future__ import annotations

from functools import partial

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import YES_NO, TaskType

LICENSE = "Apache-2.0"

FILES = {
    "factcc": "summac_benchmark/summac_factcc.json.gz",
    "polytope": "summac_benchmark/summac_polytope.json.gz",
    "summeval": "summac_benchmark/summac_summeval.json",
    "xsumfaith": "summac_benchmark/summac_xsumfaith.json.gz",
}

# What the original annotators of each subset judged (SummaC §4.1 and the subsets' papers).
SUBSET_GUIDES = {
    "factcc": "a CNN/DailyMail news article (the document) and a single summary sentence written from it; "
    "the annotators checked whether the sentence is factually consistent with the article",
    "polytope": "a CNN/DailyMail news article (the document) and a system summary of it; the annotators "
    "marked errors of every kind (additions, omissions, duplications, inaccuracies), and the summary counts "
    "as correct only if they marked none, so an incomplete or repetitive summary is also judged 'No'",
    "summeval": "a CNN/DailyMail news article (the document) and a system summary of it; three expert "
    "annotators rated its factual consistency, and the summary counts as consistent only if it contains no "
    "hallucinated facts",
    "xsumfaith": "a BBC news article (the document) and a one-sentence system summary of it (XSum); the "
    "annotators marked hallucinated spans (information not supported by the article), and the summary "
    "counts as consistent only if the majority of them found none",
}

POLYTOPE_FLAGS = ("omission_label", "addition_label", "duplication_label", "inaccuracy_label")


def binary_label(value, name: str = "label") -> bool:
    """A 0/1 label (int or numeric string) as a bool, else BadRow."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return value.strip() == "1"
    raise BadRow(f"{name} is not 0/1: {value!r}")


def summac_row(record: dict, subset: str) -> Row:
    if "label" not in record:
        raise BadRow("missing field 'label'")
    consistent = binary_label(record["label"])
    metadata = {"subset": subset, "annotations": record.get("annotations")}
    for key in ("model_name", "cut", "bbcid", "cnndm_id", "id", "ID", "errors"):
        if record.get(key) is not None:
            metadata[key] = record[key]
    if subset == "polytope":
        for key in POLYTOPE_FLAGS:
            if record.get(key) is not None:
                metadata[key] = record[key]
    return Row(
        inputs={"document": require_text(record, "document"), "summary": require_text(record, "claim")},
        answer="Yes" if consistent else "No",
        metadata=metadata,
    )


for _subset, _path in FILES.items():
    register_task(
        Task(
            name=f"summac_benchmark_{_subset}_consistency_classification_v1",
            dataset="summac_benchmark",
            task_type=TaskType.CLASSIFICATION,
            capability="factuality",
            license=LICENSE,
            title="Is the summary factually consistent with the document?",
            description=(
                f"In this task, you will be shown {SUBSET_GUIDES[_subset]}. A summary is "
                "consistent if every piece of information in it is supported by the document; it is "
                "inconsistent if any part contradicts the document or adds facts that cannot be verified from "
                "it. Answer 'Yes' if the summary is consistent with the document, or 'No' if it is not."
            ),
            source=LocalFiles(_path),
            to_row=partial(summac_row, subset=_subset),
            labels=YES_NO,
            eval_only=True,
            hub=None,
            notes=f"SummaC benchmark, {_subset} subset (validation cut). label 1 -> Yes (consistent), 0 -> No.",
        )
    )
