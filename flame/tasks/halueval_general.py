"""HaluEval general (Li et al. 2023): ChatGPT answers to user queries annotated for hallucination.

File: ``halueval_general/halueval_general_data.json.gz`` (JSON lines despite the .json name; the reader
handles it). A record is ``user_query``, ``chatgpt_response`` and the human ``hallucination`` label
yes/no (each response was checked by three annotators; the file holds the final label), plus the
annotated ``hallucination_spans``. One Yes/No classification task: "Does the response contain
hallucinated information?" (Yes = hallucination).

The same 4507 rows also appear in ``factcheck_bench/Factbench.jsonl`` (source halueval-dolly15k); that task
counts them as duplicates. Nothing is left out.
"""

from __future__ import annotations

from flame.data.sources import HubDataset, LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import YES_NO, TaskType

SOURCE = LocalFiles("halueval_general/halueval_general_data.json.gz")
LICENSE = "MIT"


def halueval_row(record: dict) -> Row:
    label = str(record.get("hallucination", "")).strip().lower()
    if label not in ("yes", "no"):
        raise BadRow(f"hallucination {record.get('hallucination')!r} is not yes/no")
    return Row(
        inputs={
            "prompt": require_text(record, "user_query"),
            "response": require_text(record, "chatgpt_response", allow_empty=True),
        },
        answer="Yes" if label == "yes" else "No",
        metadata={"id": record.get("ID", ""), "hallucination_spans": record.get("hallucination_spans")},
    )


register_task(
    Task(
        name="halueval_general_hallucination_classification_v1",
        dataset="halueval_general",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Does the response contain hallucinated information?",
        description=(
            "In this task, you will be shown a user query and ChatGPT's response to it. Following the HaluEval "
            "annotation, decide whether the response contains hallucinated information: statements that "
            "conflict with the query, contradict well-established facts, or cannot be verified from existing "
            "sources. Answer 'Yes' if the response contains hallucinated information, or 'No' if it does not."
        ),
        source=SOURCE,
        to_row=halueval_row,
        labels=YES_NO,
        hub=HubDataset("pminervini/HaluEval", name="general", split="data"),
        notes="Yes = hallucination (human label).",
    )
)
