"""XSum hallucination annotations (Maynez et al. 2020, "On Faithfulness and Factuality in Abstractive
Summarization"): 500 BBC articles x 5 summaries (4 systems + the reference), 3 workers each.

Files (CSV, one row per worker judgment, keyed by ``bbcid`` and ``system``):
- ``xsumfaith/factuality_annotations_xsum_summaries.csv``: ``is_factual`` yes/no (4 systems, no Gold).
- ``xsumfaith/hallucination_annotations_xsum_summaries.csv.gz``: one row per marked span
  (``hallucination_type`` intrinsic/extrinsic) or a NULL row when the worker marked nothing.
The CSVs carry NO article text. The text of 485 of the 500 articles is in the held-out SummaC benchmark
(``summac_benchmark/summac_xsumfaith.json.gz``, one document per ``bbcid``), so a ``Joined`` source groups the
three workers' judgments of each (bbcid, system) summary and attaches that document. Because those
documents are SummaC's held-out XSumFaith documents (and SummaC's labels are derived from these very
hallucination annotations), both tasks are evaluation only (``eval_only=True``).

Tasks (Yes/No, majority of the workers' votes, raw votes in metadata):
- ``xsumfaith_factuality_classification_v1``: is the summary factual (true about the world, even when
  not stated in the article)? The 33 "NULL" labels (11 summaries x 3 workers) are not votes: a summary
  left with no majority (all NULL, or a 1-1 split of two votes) is ``Unlabeled``.
- ``xsumfaith_faithfulness_classification_v1``: is the summary free of hallucinations (everything supported
  by the article)? A worker "found a hallucination" when any of their rows marks a span or a type (7 rows
  mark a span with a NULL type; they count as marks). Yes when fewer than half the workers found one,
  which reproduces SummaC's XSumFaith labels on the summaries they share.
Summaries of the 15 articles without text are ``BadRow`` ("no document text"). Summaries carry
backslash-escaped quotes (``week\\'s``), unescaped here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flame.data.sources import BadRecord, HubDataset, Joined, LocalFiles, Record
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import YES_NO, TaskType

LICENSE = "CC-BY-4.0"
FACTUALITY_FILE = "xsumfaith/factuality_annotations_xsum_summaries.csv"
HALLUCINATION_FILE = "xsumfaith/hallucination_annotations_xsum_summaries.csv.gz"
DOCUMENTS_FILE = "summac_benchmark/summac_xsumfaith.json.gz"


def unescape_quotes(text: str) -> str:
    return text.replace("\\'", "'").replace('\\"', '"')


def _documents(root: Path) -> dict[str, str]:
    docs: dict[str, str] = {}
    for rec in LocalFiles(DOCUMENTS_FILE).records(root):
        if isinstance(rec, Record) and rec.data.get("bbcid") and isinstance(rec.data.get("document"), str):
            docs.setdefault(str(rec.data["bbcid"]), rec.data["document"])
    return docs


def _grouped(root: Path, path: str, value_of) -> Iterator[Record | BadRecord]:
    """One record per (bbcid, system): the summary, the document (or None) and each worker's value."""
    docs = _documents(root)
    groups: dict[tuple[str, str], dict] = {}
    for rec in LocalFiles(path).records(root):
        if isinstance(rec, BadRecord):
            yield rec
            continue
        d = rec.data
        key = (str(d.get("bbcid", "")), str(d.get("system", "")))
        g = groups.setdefault(
            key,
            {
                "location": rec.location,
                "bbcid": key[0],
                "system": key[1],
                "summary": d.get("summary"),
                "document": docs.get(key[0]),
                "workers": {},
            },
        )
        worker = str(d.get("worker_id", ""))
        g["workers"][worker] = value_of(g["workers"].get(worker), d)
    for g in groups.values():
        yield Record(g.pop("location"), g)


def _factual_vote(previous, row: dict):
    return row.get("is_factual")


def _hallucination_vote(previous, row: dict) -> bool:
    marked = row.get("hallucination_type", "NULL") != "NULL" or row.get("hallucinated_span", "NULL") != "NULL"
    return bool(previous) or marked


def factuality_records(root: Path) -> Iterator[Record | BadRecord]:
    return _grouped(root, FACTUALITY_FILE, _factual_vote)


def hallucination_records(root: Path) -> Iterator[Record | BadRecord]:
    return _grouped(root, HALLUCINATION_FILE, _hallucination_vote)


def _inputs(record: dict) -> dict[str, str]:
    if not record.get("document"):
        raise BadRow(f"no document text for bbcid {record.get('bbcid')!r}")
    return {
        "article": require_text(record, "document"),
        "summary": unescape_quotes(require_text(record, "summary")),
    }


def factuality_row(record: dict) -> Row:
    workers = record.get("workers")
    if not isinstance(workers, dict) or not workers:
        raise BadRow("no worker judgments")
    votes = []
    for value in workers.values():
        v = str(value).strip().lower() if value is not None else "null"
        if v == "null":
            continue
        if v not in ("yes", "no"):
            raise BadRow(f"is_factual {value!r} is not yes/no/NULL")
        votes.append(v)
    yes, no = votes.count("yes"), votes.count("no")
    if yes == no:
        raise Unlabeled(f"no majority among is_factual votes {list(workers.values())}")
    inputs = _inputs(record)
    return Row(
        inputs=inputs,
        answer="Yes" if yes > no else "No",
        metadata={
            "system": record.get("system", ""),
            "bbcid": record.get("bbcid", ""),
            "votes": dict(workers),
        },
    )


def faithfulness_row(record: dict) -> Row:
    workers = record.get("workers")
    if not isinstance(workers, dict) or not workers:
        raise BadRow("no worker judgments")
    hallucinated = sum(1 for v in workers.values() if v)
    if 2 * hallucinated == len(workers):
        raise Unlabeled(f"workers split evenly ({hallucinated} of {len(workers)} marked a hallucination)")
    inputs = _inputs(record)
    return Row(
        inputs=inputs,
        answer="Yes" if 2 * hallucinated < len(workers) else "No",
        metadata={
            "system": record.get("system", ""),
            "bbcid": record.get("bbcid", ""),
            "score": 1.0 - hallucinated / len(workers),
            "workers_marking_hallucination": hallucinated,
        },
    )


register_task(
    Task(
        name="xsumfaith_factuality_classification_v1",
        dataset="xsumfaith",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is the summary factual?",
        description=(
            "In this task, you will be shown a BBC news article and a one-sentence summary of it written by a "
            "summarization system. Following Maynez et al.'s annotation, decide whether everything the summary "
            "states is factually correct: information taken from the article counts as factual, and "
            "information not in the article counts as factual only if it is true about the world (e.g. a "
            "correct background fact); any false statement makes the summary non-factual. Answer 'Yes' if "
            "the summary is factual, or 'No' if it is not."
        ),
        source=Joined(factuality_records, paths=(FACTUALITY_FILE, DOCUMENTS_FILE)),
        to_row=factuality_row,
        labels=YES_NO,
        eval_only=True,
        hub=HubDataset("google-research-datasets/xsum_factuality", name="xsum_factuality"),
        notes="Evaluation only: the article texts are the held-out SummaC XSumFaith documents. Majority of "
        "3 workers' is_factual; NULL votes ignored, no majority -> Unlabeled.",
    )
)

register_task(
    Task(
        name="xsumfaith_faithfulness_classification_v1",
        dataset="xsumfaith",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is all of the information in the summary supported by the article?",
        description=(
            "In this task, you will be shown a BBC news article and a one-sentence summary of it. Following "
            "Maynez et al.'s annotation, look for hallucinations: intrinsic ones, which misrepresent or "
            "contradict information in the article, and extrinsic ones, which add information that cannot be "
            "inferred from the article (even if it happens to be true). Answer 'Yes' if the summary contains "
            "no hallucination, or 'No' if it contains at least one."
        ),
        source=Joined(hallucination_records, paths=(HALLUCINATION_FILE, DOCUMENTS_FILE)),
        to_row=faithfulness_row,
        labels=YES_NO,
        eval_only=True,
        hub=HubDataset("google-research-datasets/xsum_factuality", name="xsum_faithfulness"),
        notes="Evaluation only: the article texts are the held-out SummaC XSumFaith documents. Yes when fewer "
        "than half the workers marked a hallucinated span.",
    )
)
