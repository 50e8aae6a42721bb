"""DialFact (Gupta et al. 2022): fact-checking of responses in knowledge-grounded dialogue.

File: ``dialfact/dialfact_testsmall.jsonl`` (a 300-row sample of the test set from the DialFact repo). A record
is a dialogue ``context`` (a list of turns), a ``response`` (human-written or model-generated, see
``data_type``), the Wikipedia ``evidence_list`` ([title, url, sentence, ...] items) and the human
``response_label`` SUPPORTS / REFUTES / NOT ENOUGH INFO (the response's verifiable claim checked against
the evidence). One 3-way classification task; metadata keeps ``data_type`` and ``type_label``
(factual/personal).

The dialogue turns are shown one per line with alternating speakers A/B (the response is by the speaker
after the last turn). 11 responses open the dialogue (empty context): their CONTEXT has no conversation
field. Rows are grouped by ``context_id`` (all responses to one dialogue share a split). ``fever_score``
(a model's prediction) and ``evidence_touse`` (a flattened copy of the evidence) are left out.
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType

SOURCE = LocalFiles("dialfact/dialfact_testsmall.jsonl")
LICENSE = "BSD-3-Clause"
LABELS = ("Supported", "Refuted", "Not enough information")
LABEL_MAP = {"SUPPORTS": "Supported", "REFUTES": "Refuted", "NOT ENOUGH INFO": "Not enough information"}


def format_dialogue(turns: list[str]) -> str:
    """Turns one per line; speakers alternate and the last turn is by B, so the response is by A."""
    n = len(turns)
    return "\n".join(f"{'B' if (n - 1 - i) % 2 == 0 else 'A'}: {t.strip()}" for i, t in enumerate(turns))


def format_evidence(items: list) -> str:
    lines = []
    for item in items:
        if not isinstance(item, list | tuple) or len(item) < 3 or not isinstance(item[2], str):
            raise BadRow(f"malformed evidence item {str(item)[:60]!r}")
        title = str(item[0]).strip()
        text = item[2].strip()
        if text:
            lines.append(f"{title}: {text}" if title else text)
    return "\n".join(lines)


def dialfact_row(record: dict) -> Row:
    label = record.get("response_label")
    if label not in LABEL_MAP:
        raise BadRow(f"response_label {label!r} is not one of {sorted(LABEL_MAP)}")
    context = record.get("context")
    if not isinstance(context, list) or not all(isinstance(t, str) for t in context):
        raise BadRow("context is not a list of turns")
    evidence = record.get("evidence_list")
    if not isinstance(evidence, list):
        raise BadRow("evidence_list is not a list")
    evidence_text = format_evidence(evidence)
    if not evidence_text:
        raise BadRow("empty evidence")
    inputs = {}
    turns = [t for t in context if t.strip()]
    if turns:
        inputs["conversation"] = format_dialogue(turns)
    inputs["evidence"] = evidence_text
    inputs["response"] = "A: " + require_text(record, "response")
    return Row(
        inputs=inputs,
        answer=LABEL_MAP[label],
        metadata={
            "id": record.get("id", ""),
            "data_type": record.get("data_type", ""),
            "type_label": record.get("type_label", ""),
        },
        group=str(record.get("context_id") or record.get("id") or ""),
    )


register_task(
    Task(
        name="dialfact_verification_classification_v1",
        dataset="dialfact",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is the dialogue response supported by the evidence?",
        description=(
            "In this task, you will be shown a conversation, evidence sentences from Wikipedia, and the next "
            "response in the conversation. Following the DialFact annotation, verify the factual claim the "
            "response makes, reading it in the context of the conversation: it is supported if the evidence "
            "confirms it, refuted if the evidence contradicts it, and not enough information if the evidence "
            "neither confirms nor contradicts it. Answer 'Supported', 'Refuted' or 'Not enough information'."
        ),
        source=SOURCE,
        to_row=dialfact_row,
        labels=LABELS,
        hub=None,
        notes="DialFact 300-row test sample; labels SUPPORTS/REFUTES/NOT ENOUGH INFO renamed.",
    )
)
