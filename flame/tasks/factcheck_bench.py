"""Factcheck-Bench (Wang et al. 2023, "Factcheck-GPT"): human fact-checking of LLM answers.

Files:
- ``factcheck_bench/Factbench.jsonl.gz``: ``prompt``, ``response``, ``response_label`` (true = the whole
  response is factually correct, false = it is not, "NA" twice), ``claims`` + ``claim_labels``, ``source``.
  Only the ``factcheckgpt`` (94) and ``factool-qa`` (50) rows are Factcheck-Bench's own. The
  ``halueval-dolly15k`` rows (4507) are HaluEval general's data and the ``felm-wk`` rows (184) are FELM's
  world-knowledge data, also registered by the ``halueval_general`` and ``felm`` tasks. They stay in this
  task and the decontamination pass (``flame data check``) finds them and keeps one copy for training: the
  HaluEval/FELM one (``factcheck_bench`` is demoted in ``flame.data.decontam``). "NA" labels are ``Unlabeled``.
- ``factcheck_bench/subtask4_claim_factuality.jsonl``: 661 atomic claims with a human verdict ``label``
  true / false / not_enough_evidence and a human ``revised_claim``.

Tasks:
- ``factcheck_bench_response_factuality_classification_v1``: is the response factually correct? (Yes/No)
- ``factcheck_bench_claim_factuality_classification_v1``: is the claim true? (Yes/No). The annotators
  verified claims against retrieved evidence that is not in the file; "not_enough_evidence" (30) is no
  true/false verdict, so those claims are ``Unlabeled``.
- ``factcheck_bench_claim_revision_generative_v1``: rewrite a false claim so that it is correct; the target
  is the annotators' ``revised_claim``. True / not-enough-evidence claims have no revision (``Unlabeled``), and
  so do the 6 false claims whose "revision" is empty (3) or identical to the claim (3).
Left out: the response-level ``claims``/``claim_labels`` (the same annotators' claim verdicts, which the
subtask-4 file already provides per claim) and ``hallucination_spans`` (None for Factcheck-Bench's own rows).
"""

from __future__ import annotations

from flame.data.sources import LocalFiles
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import YES_NO, TaskType

LICENSE = "Apache-2.0"
RESPONSE_SOURCE = LocalFiles("factcheck_bench/Factbench.jsonl.gz")
CLAIM_SOURCE = LocalFiles("factcheck_bench/subtask4_claim_factuality.jsonl")


def _truth(value, name: str):
    """true/false (bool or string) -> bool; 'NA'/None -> None; anything else -> BadRow."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    if text in ("na", "n/a", "none", "null", ""):
        return None
    raise BadRow(f"{name} {value!r} is not true/false")


def response_row(record: dict) -> Row:
    source = str(record.get("source", ""))
    if "response_label" not in record:
        raise BadRow("missing field 'response_label'")
    truth = _truth(record["response_label"], "response_label")
    if truth is None:
        raise Unlabeled(f"response_label is {record['response_label']!r}")
    return Row(
        inputs={
            "prompt": require_text(record, "prompt"),
            "response": require_text(record, "response", allow_empty=True),
        },
        answer="Yes" if truth else "No",
        metadata={"subset": source},
    )


CLAIM_LABELS = {"true": True, "false": False, "not_enough_evidence": None}


def _claim_verdict(record: dict):
    label = str(record.get("label", "")).strip().lower()
    if label not in CLAIM_LABELS:
        raise BadRow(f"label {record.get('label')!r} is not one of {sorted(CLAIM_LABELS)}")
    return CLAIM_LABELS[label]


def claim_row(record: dict) -> Row:
    claim = require_text(record, "claim")
    verdict = _claim_verdict(record)
    if verdict is None:
        raise Unlabeled("not_enough_evidence: no true/false verdict")
    return Row(inputs={"claim": claim}, answer="Yes" if verdict else "No")


def revision_row(record: dict) -> Row:
    claim = require_text(record, "claim")
    verdict = _claim_verdict(record)
    if verdict is not False:
        raise Unlabeled("claim not judged false: no revision")
    revised = require_text(record, "revised_claim", allow_empty=True)
    if not revised:
        raise Unlabeled("false claim with an empty revised_claim")
    if revised == claim:
        raise Unlabeled("revised_claim is identical to the false claim")
    return Row(inputs={"claim": claim}, answer=revised)


register_task(
    Task(
        name="factcheck_bench_response_factuality_classification_v1",
        dataset="factcheck_bench",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is the response factually correct?",
        description=(
            "In this task, you will be shown a question or request and an answer written by a language model. "
            "Following the Factcheck-Bench annotation, break the response into its factual claims and check "
            "each against reliable sources (world knowledge); the response is factually correct only if none "
            "of its claims is false. Answer 'Yes' if the response is factually correct, or 'No' if it "
            "contains at least one false claim."
        ),
        source=RESPONSE_SOURCE,
        to_row=response_row,
        labels=YES_NO,
        hub=None,
        notes="HaluEval and FELM copies are kept here; the decontamination pass keeps their original copy for "
        "training. 'NA' labels are Unlabeled.",
    )
)

register_task(
    Task(
        name="factcheck_bench_claim_factuality_classification_v1",
        dataset="factcheck_bench",
        task_type=TaskType.CLASSIFICATION,
        capability="factuality",
        license=LICENSE,
        title="Is the claim factually true?",
        description=(
            "In this task, you will be shown an atomic claim extracted from a language model's answer. "
            "Following the Factcheck-Bench annotation, decide from reliable world knowledge whether the claim "
            "is true: every detail (names, dates, numbers, relations) must be correct. Answer 'Yes' if the "
            "claim is true, or 'No' if it is false."
        ),
        source=CLAIM_SOURCE,
        to_row=claim_row,
        labels=YES_NO,
        hub=None,
        notes="subtask4 claims; not_enough_evidence -> Unlabeled.",
    )
)

register_task(
    Task(
        name="factcheck_bench_claim_revision_generative_v1",
        dataset="factcheck_bench",
        task_type=TaskType.GENERATIVE,
        capability="factuality",
        license=LICENSE,
        title="How should the false claim be corrected?",
        description=(
            "In this task, you will be shown an atomic claim from a language model's answer that human "
            "fact-checkers judged false. Following the Factcheck-Bench annotation, revise the claim with "
            "minimal edits so that it becomes factually true, keeping its topic and as much of its wording "
            "as possible. Answer with the corrected claim."
        ),
        source=CLAIM_SOURCE,
        to_row=revision_row,
        labels=None,
        hub=None,
        notes="Target = the annotators' revised_claim for claims labelled false.",
    )
)
