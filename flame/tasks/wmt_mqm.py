"""Google's MQM human evaluation (Freitag et al. 2021, "Experts, Errors, and Context"), TED talks subset of the WMT21
metrics task: outputs of the WMT21 systems (and human references) for English→German and Chinese→English TED talk
segments, each annotated by a professional translator with MQM error spans (category and severity).

Files: ``wmt_mqm/mqm_ted_ende.tsv.gz`` and ``wmt_mqm/mqm_ted_zhen.tsv.gz``, one line per annotated error (or one
"No-error" line), the error span marked with ``<v>...</v>`` in the target (or in the source, for omissions and
source errors); read with quoting off (segments contain stray double quotes). A Joined reader groups the lines of
one (system, segment) into one record. Two tasks per language pair:
- pointwise: the MQM score (major 5, minor 1, minor punctuation 0.1, non-translation 25, averaged over raters;
  source errors are weighted like the others, which reproduces the released ``*.avg_seg_scores.tsv``) mapped onto
  1-5 (5 = no error, 4 = < 5, 3 = < 10, 2 = < 15, 1 = 15 or more); ``metadata["score"]`` = -MQM (higher is
  better, the sign convention of the released scores).
- generative: the list of annotated errors as "category (severity): "span"" lines, or "no errors".
Left out: the space-separated ``*avg_seg_scores.tsv`` (no text; recomputed here), newstest2020 (text only for
segments with source errors) and the generalMT2023 side-by-side file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from flame.data.sources import BadRecord, Joined, Record, read_csv_records
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType, score_labels

LICENSE = "Apache-2.0"
FILES = {"en-de": "wmt_mqm/mqm_ted_ende.tsv.gz", "zh-en": "wmt_mqm/mqm_ted_zhen.tsv.gz"}
LANGUAGES = {"en": "English", "de": "German", "zh": "Chinese"}

_SPAN = re.compile(r"<v>(.*?)</v>", re.DOTALL)
_TAG = re.compile(r"</?v>")
NO_ERROR = "No-error"


def read_mqm(root: Path, path: str) -> Iterator[Record | BadRecord]:
    """Group per-error lines into one record per (system, seg_id), with the error list in file order."""
    groups: dict[tuple[str, str], dict] = {}
    broken: set[tuple[str, str]] = set()
    for rec in read_csv_records(root / path, path, "\t", csv.QUOTE_NONE):
        if isinstance(rec, BadRecord):
            yield rec
            continue
        d = rec.data
        key = (d.get("system", ""), d.get("seg_id", ""))
        source, target = d.get("source", ""), d.get("target", "")
        clean_source, clean_target = _TAG.sub("", source), _TAG.sub("", target)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "location": rec.location,
                "data": {
                    "system": key[0],
                    "seg_id": key[1],
                    "doc": d.get("doc", ""),
                    "source": clean_source,
                    "target": clean_target,
                    "errors": [],
                    "_file": Path(path).name,
                },
            }
        elif (group["data"]["source"], group["data"]["target"]) != (clean_source, clean_target):
            if key not in broken:
                yield BadRecord(rec.location, f"segment {key} has different texts on different lines")
            broken.add(key)
            continue
        in_target, in_source = _SPAN.search(target), _SPAN.search(source)
        group["data"]["errors"].append(
            {
                "rater": d.get("rater", ""),
                "category": d.get("category", ""),
                "severity": d.get("severity", ""),
                "span": (in_target or in_source).group(1) if (in_target or in_source) else None,
                "span_in": "target" if in_target else "source" if in_source else None,
                "comment": d.get("comment", ""),
            }
        )
    for key, group in groups.items():
        if key not in broken:
            yield Record(group["location"], group["data"])


def error_weight(category: str, severity: str) -> float:
    """The MQM weight of one annotated error (Freitag et al. 2021, Table 2)."""
    if category == NO_ERROR or severity == NO_ERROR:
        return 0.0
    if severity == "Major":
        return 25.0 if category.startswith("Non-translation") else 5.0
    if severity == "Minor":
        return 0.1 if category == "Fluency/Punctuation" else 1.0
    if severity == "Neutral":
        return 0.0
    raise BadRow(f"unknown severity {severity!r}")


def _errors(record: dict) -> list[dict]:
    errors = record.get("errors")
    if not isinstance(errors, list) or not errors:
        raise BadRow("no annotation lines")
    for e in errors:
        if not isinstance(e, dict) or not e.get("category") or not e.get("severity"):
            raise BadRow("annotation line without category or severity")
    return errors


def mqm_score(errors: list[dict]) -> float:
    """Sum of error weights per rater, averaged over raters (lower is better)."""
    per_rater: dict[str, float] = {}
    for e in errors:
        rater = str(e.get("rater", ""))
        per_rater[rater] = per_rater.get(rater, 0.0) + error_weight(e["category"], e["severity"])
    return sum(per_rater.values()) / len(per_rater)


def mqm_label(score: float) -> str:
    if score < 0:
        raise BadRow(f"negative MQM score {score}")
    if score == 0:
        return "5"
    for label, bound in (("4", 5.0), ("3", 10.0), ("2", 15.0)):
        if score < bound:
            return label
    return "1"


def _inputs(record: dict) -> dict[str, str]:
    return {
        "source": require_text(record, "source"),
        "translation": require_text(record, "target", allow_empty=True),
    }


def _metadata(record: dict, errors: list[dict]) -> dict:
    return {
        "system": str(record.get("system", "")),
        "seg_id": str(record.get("seg_id", "")),
        "doc": str(record.get("doc", "")),
        "raters": sorted({str(e.get("rater", "")) for e in errors}),
    }


def mqm_row(record: dict) -> Row:
    errors = _errors(record)
    score = mqm_score(errors)
    return Row(
        inputs=_inputs(record),
        answer=mqm_label(score),
        metadata={"score": -score, "mqm": score, **_metadata(record, errors)},
    )


def error_line(error: dict) -> str:
    line = f"{error['category'].lower()} ({error['severity'].lower()})"
    span = error.get("span")
    if span is not None and span.strip():
        where = "" if error.get("span_in") == "target" else "in the source "
        line += f': {where}"{span.strip()}"'
    comment = str(error.get("comment") or "").strip()
    if comment:
        line += f" [{comment}]"
    return line


def mqm_errors_row(record: dict) -> Row:
    errors = _errors(record)
    real = [e for e in errors if e["category"] != NO_ERROR and e["severity"] != NO_ERROR]
    return Row(
        inputs=_inputs(record),
        answer="\n".join(error_line(e) for e in real) if real else "no errors",
        metadata={"mqm": mqm_score(errors), **_metadata(record, errors)},
    )


def _a(word: str) -> str:
    """The word with its indefinite article ("an English", "a German")."""
    return f"{'an' if word[0] in 'AEIOU' else 'a'} {word}"


MQM_GUIDE = (
    "Professional translators marked every error in the translation with a category (accuracy: addition, "
    "omission, mistranslation, untranslated text; fluency: grammar, spelling, punctuation, register, "
    "inconsistency; terminology; style/awkward; locale convention; other; source error) and a severity: major "
    "errors change or obscure the meaning, minor errors are imperfections that do not."
)

for _pair, _path in FILES.items():
    _src, _tgt = _pair.split("-")
    _source = Joined(partial(read_mqm, path=_path), paths=(_path,))
    _intro = (
        f"In this task, you will be shown {_a(LANGUAGES[_src])} segment of a TED talk transcript and its "
        f"translation into {LANGUAGES[_tgt]}."
    )
    register_task(
        Task(
            name=f"wmt_mqm_ted_{_src}_{_tgt}_quality_pointwise_v1",
            dataset="wmt_mqm",
            task_type=TaskType.POINTWISE,
            capability="general_quality",
            license=LICENSE,
            title=f"How good is the {LANGUAGES[_tgt]} translation of the {LANGUAGES[_src]} TED talk segment?",
            description=(
                f"{_intro} {MQM_GUIDE} Rate the translation: 5 means no errors, 4 only minor errors, 3 about one "
                "major error, 2 two major errors, 1 three or more major errors or no real translation. "
                "Answer with an integer from 1 (worst) to 5 (best)."
            ),
            source=_source,
            to_row=mqm_row,
            labels=score_labels(1, 5),
            hub=None,
            notes="MQM score (major 5, minor 1, minor punctuation 0.1) mapped onto 1-5; -MQM in metadata['score'].",
        )
    )
    register_task(
        Task(
            name=f"wmt_mqm_ted_{_src}_{_tgt}_errors_generative_v1",
            dataset="wmt_mqm",
            task_type=TaskType.GENERATIVE,
            capability="general_quality",
            license=LICENSE,
            title=f"What errors does the {LANGUAGES[_tgt]} translation of the {LANGUAGES[_src]} TED talk segment contain?",
            description=(
                f"{_intro} {MQM_GUIDE} List every error in the translation, one per line, as "
                "'category (severity): \"error span\"' (a span missing from the translation is quoted from the "
                "source), or answer 'no errors' if the translation has none."
            ),
            source=_source,
            to_row=mqm_errors_row,
            labels=None,
            hub=None,
            notes="Target = the annotated MQM error spans with category and severity, or 'no errors'.",
        )
    )
