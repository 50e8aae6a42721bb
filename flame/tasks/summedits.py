"""SummEdits (Laban et al. 2023): summaries of documents from eight domains, edited by an LLM and labelled
for factual consistency by human annotators.

Files: ``summedits/summedits_<domain>.json[.gz]`` (JSON lists). A record is one (document, summary) pair:
``doc``, ``summary`` (the original seed summary or an edit of it), ``label`` 1 = consistent, 0 =
inconsistent (human-verified), ``edit_types``, ``split``. One Yes/No classification task per domain
(Yes = consistent), ``metadata["subset"]`` = the domain. Rows group by document, so all edits of one
document land in one split.

Left out: the billsum and shakespeare domains (files over 4 MiB, not in the snapshot). Nothing else.
"""

from __future__ import annotations

from functools import partial

from flame.data.sources import HubDataset, LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import YES_NO, TaskType

LICENSE = "Apache-2.0"

# domain -> (file, what the document is)
DOMAINS = {
    "ectsum": ("summedits/summedits_ectsum.json.gz", "an excerpt of a company's earnings call transcript"),
    "news": ("summedits/summedits_news.json.gz", "a news article"),
    "podcast": ("summedits/summedits_podcast.json.gz", "a podcast transcript"),
    "qmsumm": ("summedits/summedits_qmsumm.json.gz", "a meeting transcript (QMSum)"),
    "sales_call": ("summedits/summedits_sales_call.json.gz", "a transcript of a sales call"),
    "sales_email": ("summedits/summedits_sales_email.json.gz", "a sales e-mail"),
    "samsum": ("summedits/summedits_samsum.json", "a messenger-style chat dialogue (SAMSum)"),
    "scitldr": ("summedits/summedits_scitldr.json", "the abstract of a scientific paper (SciTLDR)"),
}


def summedits_row(record: dict, domain: str) -> Row:
    label = record.get("label")
    if isinstance(label, str) and label.strip() in ("0", "1"):
        label = int(label)
    if isinstance(label, bool) or label not in (0, 1):
        raise BadRow(f"label is not 0/1: {label!r}")
    return Row(
        inputs={"document": require_text(record, "doc"), "summary": require_text(record, "summary")},
        answer="Yes" if label == 1 else "No",
        metadata={
            "subset": domain,
            "id": record.get("id", ""),
            "edit_types": record.get("edit_types"),
            "split": record.get("split", ""),
        },
    )


for _domain, (_path, _what) in DOMAINS.items():
    register_task(
        Task(
            name=f"summedits_{_domain}_consistency_classification_v1",
            dataset="summedits",
            task_type=TaskType.CLASSIFICATION,
            capability="factuality",
            license=LICENSE,
            title="Is the summary factually consistent with the document?",
            description=(
                f"In this task, you will be shown a document, {_what}, and a short summary of it that may have "
                "been edited. Following the SummEdits annotation, the summary is consistent if all of its "
                "information is supported by the document, and inconsistent if even a small edit (a changed "
                "entity, number, negation or relation, or an added fact) makes any part of it contradict or go "
                "beyond the document; stylistic differences do not matter. Answer 'Yes' if the summary is "
                "factually consistent with the document, or 'No' if it is not."
            ),
            source=LocalFiles(_path),
            to_row=partial(summedits_row, domain=_domain),
            labels=YES_NO,
            hub=HubDataset("Salesforce/summedits"),
            notes=f"SummEdits {_domain} domain; label 1 -> Yes (consistent), 0 -> No.",
        )
    )
