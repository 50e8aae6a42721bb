"""FELM (Chen et al. 2023, "FELM: Benchmarking Factuality Evaluation of Large Language Models").

Files: ``felm/felm_{wk,science,math,reasoning,writing_rec}.jsonl``. A record is one ChatGPT answer: ``prompt``,
``response``, ``segmented_response`` (the answer split into segments by the authors), ``labels`` (one human
verdict per segment, true = factually correct), ``comment`` (the annotators' explanation or the correct
result), ``type`` (error type) and ``ref`` (reference links) in some domains.

Tasks, one per domain and level (``metadata["subset"]`` = the domain; capability ``math`` for the math
domain, ``factuality`` for the others):
- ``felm_<domain>_response_factuality_classification_v1``: is the whole response factually correct?
  Yes iff every segment label is true (FELM's response-level label).
- ``felm_<domain>_segment_factuality_classification_v1``: is one given segment of the response factually
  correct? One row per segment; rows of one prompt share a split (grouped by the prompt).

Quirks handled: two responses are NaN in the file (reasoning index 156, wk index 21) -> ``BadRow`` at both
levels (the text shown to annotators is not recoverable with certainty); 7 reasoning rows have more labels
than segments (e.g. 16 labels for 4 segments) -> ``BadRow`` at segment level, while at response level the
verdict is unambiguous (every one of them is all-true or contains a false under any alignment) and is kept;
literal ``\\n`` escapes in some responses are turned into newlines (LaTeX commands such as ``\\frac`` are
left alone), and runs of blank lines in segments are collapsed.
The Factcheck-Bench copy of the wk domain (``factcheck_bench``, source felm-wk) is counted there as a
duplicate. Licence: the MANIFEST gives MIT (GitHub README); note that the Hugging Face card of
hkust-nlp/felm says CC-BY-NC-SA-4.0.
"""

from __future__ import annotations

import math
import re
from functools import partial

from flame.data.sources import HubDataset, LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import YES_NO, TaskType

LICENSE = "MIT"

DOMAINS = {
    "wk": "a world-knowledge question",
    "science": "a science or technology question",
    "math": "a math problem",
    "reasoning": "a reasoning problem",
    "writing_rec": "a writing or recommendation request",
}

# A literal backslash-n that is a lost newline, not the start of a LaTeX command (\neq, \nu, \nabla, \not).
_LITERAL_NEWLINE = re.compile(r"\\n(?!eq|u\b|abla|ot\b|ewline)")
_BLANK_RUNS = re.compile(r"\n\s*\n(\s*\n)+")


def clean_text(text: str) -> str:
    return _BLANK_RUNS.sub("\n\n", _LITERAL_NEWLINE.sub("\n", text)).strip()


def _response(record: dict) -> str:
    value = record.get("response")
    if not isinstance(value, str):
        kind = "NaN" if isinstance(value, float) and math.isnan(value) else type(value).__name__
        raise BadRow(f"response is {kind}, not text")
    return clean_text(value)


def _labels(record: dict) -> list[bool]:
    labels = record.get("labels")
    if not isinstance(labels, list) or not labels:
        raise BadRow("missing or empty 'labels'")
    if not all(isinstance(v, bool) for v in labels):
        raise BadRow(f"labels are not all true/false: {labels[:5]!r}")
    return labels


def response_row(record: dict, domain: str) -> Row:
    labels = _labels(record)
    return Row(
        inputs={"prompt": require_text(record, "prompt"), "response": _response(record)},
        answer="Yes" if all(labels) else "No",
        metadata={"subset": domain, "index": record.get("index", "")},
    )


def segment_rows(record: dict, domain: str) -> list[Row]:
    labels = _labels(record)
    segments = record.get("segmented_response")
    if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
        raise BadRow("segmented_response is not a list of text")
    if len(segments) != len(labels):
        raise BadRow(f"{len(labels)} labels for {len(segments)} segments")
    prompt = require_text(record, "prompt")
    response = _response(record)
    comments = record.get("comment") if isinstance(record.get("comment"), list) else []
    rows = []
    for i, (segment, label) in enumerate(zip(segments, labels, strict=True)):
        text = clean_text(segment)
        if not text:
            raise BadRow(f"empty segment {i}")
        rows.append(
            Row(
                inputs={"prompt": prompt, "response": response, "segment": text},
                answer="Yes" if label else "No",
                metadata={
                    "subset": domain,
                    "index": record.get("index", ""),
                    "segment": i,
                    "comment": comments[i] if i < len(comments) else "",
                },
            )
        )
    return rows


for _domain, _what in DOMAINS.items():
    _capability = "math" if _domain == "math" else "factuality"
    _hub = HubDataset("hkust-nlp/felm", name=_domain, split="test")
    _source = LocalFiles(f"felm/felm_{_domain}.jsonl")
    register_task(
        Task(
            name=f"felm_{_domain}_response_factuality_classification_v1",
            dataset="felm",
            task_type=TaskType.CLASSIFICATION,
            capability=_capability,
            license=LICENSE,
            title="Is the response factually correct?",
            description=(
                f"In this task, you will be shown {_what} and ChatGPT's response to it. Following the FELM "
                "annotation, check every segment of the response for factual errors: wrong facts about the "
                "world, wrong calculations or reasoning steps, and claims that cannot be supported by reliable "
                "sources (a recommendation or opinion is judged on the facts it states). Answer 'Yes' if the "
                "whole response is factually correct, or 'No' if any segment contains a factual error."
            ),
            source=_source,
            to_row=partial(response_row, domain=_domain),
            labels=YES_NO,
            hub=_hub,
            notes=f"FELM {_domain}: Yes iff all segment labels are true.",
        )
    )
    register_task(
        Task(
            name=f"felm_{_domain}_segment_factuality_classification_v1",
            dataset="felm",
            task_type=TaskType.CLASSIFICATION,
            capability=_capability,
            license=LICENSE,
            title="Is this segment of the response factually correct?",
            description=(
                f"In this task, you will be shown {_what}, ChatGPT's full response to it, and one segment of "
                "that response. Following the FELM annotation, judge only the given segment, using the rest "
                "of the response as context: it is factually incorrect if it states a wrong fact, makes a "
                "calculation or reasoning error, or makes a claim that reliable sources do not support. Answer "
                "'Yes' if the segment is factually correct, or 'No' if it contains a factual error."
            ),
            source=_source,
            to_row=partial(segment_rows, domain=_domain),
            labels=YES_NO,
            hub=_hub,
            notes=f"FELM {_domain}: one row per annotated segment.",
        )
    )
