"""FRANK (Pagnoni et al. 2021): typology-based factuality annotation of CNN/DM and XSum system summaries.

File: ``frank/frank_summac_format_val.json.gz`` (FRANK's validation cut in the SummaC format, 671 rows from
the FIZZ repository). A record is one (document, system summary) pair: ``document``, ``claim`` (the whole
summary), ``label`` 1 = consistent (no annotated factual error) / 0 = inconsistent, the three annotators'
votes in ``annotations``, ``model_name`` and ``origin`` (cnndm or xsum). One Yes/No classification task,
``metadata["subset"]`` = the origin.

Text fix: 106 summaries carry backslash-escaped quotes (``it\\'s``), an export artefact; they are
unescaped. Left out: ``frank_human_annotations.json.gz`` has FRANK's per-summary factuality scores and
error-type flags but NO text (only the article hash and system name; the upstream benchmark_data.json
with the text was over 4 MiB and not obtainable), so no judgment can be rendered from it.
Overlap: the XSum documents are the Maynez et al. (XSumFaith) BBC articles, some of which are in the
held-out SummaC XSumFaith subset; the collection builder's overlap check is expected to handle them.
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import YES_NO, TaskType

SOURCE = LocalFiles("frank/frank_summac_format_val.json.gz")
LICENSE = "MIT"


def unescape_quotes(text: str) -> str:
    """Undo the ``\\'`` / ``\\"`` escaping some exports left in summaries."""
    return text.replace("\\'", "'").replace('\\"', '"')


def frank_row(record: dict) -> Row:
    label = record.get("label")
    if isinstance(label, str) and label.strip() in ("0", "1"):
        label = int(label)
    if isinstance(label, bool) or label not in (0, 1):
        raise BadRow(f"label is not 0/1: {label!r}")
    return Row(
        inputs={
            "document": require_text(record, "document"),
            "summary": unescape_quotes(require_text(record, "claim")),
        },
        answer="Yes" if label == 1 else "No",
        metadata={
            "subset": record.get("origin", ""),
            "model_name": record.get("model_name", ""),
            "annotations": record.get("annotations"),
        },
    )


register_task(
    Task(
        name="frank_consistency_classification_v1",
        dataset="frank",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is the summary factually consistent with the article?",
        description=(
            "In this task, you will be shown a news article (CNN/DailyMail or BBC) and a summary written by a "
            "summarization system. Following the FRANK annotation, check each sentence of the summary for "
            "factual errors: wrong predicates, entities or circumstances (time, place, manner), wrong "
            "coreference or links between statements, and information that cannot be verified from the "
            "article. Answer 'Yes' if the summary contains no factual error with respect to the article, or "
            "'No' if it contains at least one."
        ),
        source=SOURCE,
        to_row=frank_row,
        labels=YES_NO,
        hub=None,
        notes="FRANK validation cut (SummaC format); label 1 -> Yes. Human-annotations file left out: no text.",
    )
)
