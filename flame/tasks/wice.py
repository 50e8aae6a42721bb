"""WiCE (Kamoi et al. 2023): Wikipedia claims checked against the web pages they cite.

Files: ``wice/claim_{dev,test}.jsonl.gz`` (claim-level entailment, ``entailment_retrieval/claim``). A record
is one claim (a sentence of a Wikipedia article) with ``evidence``, the sentences of the cited web page (a
list, joined here with newlines), and a human ``label``: supported / partially_supported / not_supported.
One 3-way classification task; ``metadata["subset"]`` = the file's split (dev or test), plus the article
title, the claim id and the annotated ``supporting_sentences``.

Held out: evaluation only. The Wikipedia context around the claim (``meta.claim_context``) is not shown:
the annotators judged the claim against the cited page. Nothing is left out.
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType

SOURCE = LocalFiles("wice/claim_dev.jsonl.gz", "wice/claim_test.jsonl.gz")
LICENSE = "ODC-BY-1.0"
LABELS = ("Supported", "Partially supported", "Not supported")
LABEL_MAP = {
    "supported": "Supported",
    "partially_supported": "Partially supported",
    "not_supported": "Not supported",
}


def wice_row(record: dict) -> Row:
    label = record.get("label")
    if label not in LABEL_MAP:
        raise BadRow(f"label {label!r} is not one of {sorted(LABEL_MAP)}")
    evidence = record.get("evidence")
    if not isinstance(evidence, list) or not all(isinstance(s, str) for s in evidence):
        raise BadRow("evidence is not a list of sentences")
    evidence_text = "\n".join(s.strip() for s in evidence if s.strip())
    if not evidence_text:
        raise BadRow("empty field 'evidence'")
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    file = str(record.get("_file", ""))
    return Row(
        inputs={"claim": require_text(record, "claim"), "evidence": evidence_text},
        answer=LABEL_MAP[label],
        metadata={
            "subset": "test" if "test" in file else "dev" if "dev" in file else file,
            "id": meta.get("id", ""),
            "claim_title": meta.get("claim_title", ""),
            "supporting_sentences": record.get("supporting_sentences"),
        },
    )


register_task(
    Task(
        name="wice_support_classification_v1",
        dataset="wice",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is the claim supported by the evidence?",
        description=(
            "In this task, you will be shown a claim, a sentence taken from a Wikipedia article, and the "
            "sentences of the web page that the article cites for it. Following the WiCE annotation guideline, "
            "break the claim into its pieces of information and check each against the evidence: the claim is "
            "supported if every piece is stated or clearly implied by the evidence, partially supported if "
            "some pieces are supported and others are not, and not supported if no piece is. Answer "
            "'Supported', 'Partially supported' or 'Not supported'."
        ),
        source=SOURCE,
        to_row=wice_row,
        labels=LABELS,
        eval_only=True,
        hub=None,
        notes="WiCE claim-level dev+test; evidence sentences joined with newlines.",
    )
)
