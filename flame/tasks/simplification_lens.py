"""Sentence-simplification human ratings released with LENS (Maddela et al. 2023, "LENS: A Learnable Evaluation
Metric for Text Simplification"), plus the WikiDA ratings of Alva-Manchego et al. 2021 kept in the same repo.

Files (``simplification_lens/``), each row an (original sentence, simplification) pair:
- ``simpDA_2022.csv``: one line per crowd worker (3 per pair) with 0-100 direct-assessment ratings of adequacy,
  fluency and simplicity. A Joined reader groups the lines of one pair so that ``to_row`` sees all its ratings;
  label = mean mapped linearly onto 1-5.
- ``simplikert_2022.csv``: the same 360 pairs rated by 3 workers on Likert scales (adequacy, fluency 1-5;
  simplicity -2..+2, relative to the original), grouped the same way; label = mean mapped onto 1-5.
- ``simpeval_2022.csv`` and ``simpeval_past.csv.gz``: SimpEval overall-quality ratings (0-100, 3 or 5 raters
  in ``rating_N`` columns, one line per pair); label = mean mapped onto 1-5, subset = the file.
- ``simplicity_DA.csv`` (WikiDA): fluency, meaning and simplicity means (0-100) per pair; label mapped onto 1-5.
Raw means are kept in ``metadata["score"]``. Left out: z-scores (derived from the same ratings) and
SimpEval_past's tokenised, lower-cased ``generation`` (``processed_generation`` is the readable form).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from flame.data.preprocess import rescale_to_label, to_float
from flame.data.sources import BadRecord, Joined, LocalFiles, Record, read_csv_records
from flame.data.task import BadRow, Row, Task, Unlabeled, register_task, require_text
from flame.types import TaskType, score_labels

LICENSE = "unstated (LENS data; Apache-2.0 only in the repo's lens/ package, repo root unlicensed)"

SIMPDA = "simplification_lens/simpDA_2022.csv"
SIMPLIKERT = "simplification_lens/simplikert_2022.csv"
WORKER_ASPECTS = ("adequacy", "fluency", "simplicity")


def read_worker_ratings(root: Path, path: str) -> Iterator[Record | BadRecord]:
    """Group a one-line-per-worker MTurk file into one record per (original, simplified, system) pair.

    The record keeps every worker's raw answers in ``ratings[aspect]`` (in file order) so that ``to_row``
    computes the mean; a malformed line stays a ``BadRecord`` and does not enter any group.
    """
    groups: dict[tuple[str, str, str], dict] = {}
    for rec in read_csv_records(root / path, path):
        if isinstance(rec, BadRecord):
            yield rec
            continue
        d = rec.data
        key = (d.get("Input.original", ""), d.get("Input.simplified", ""), d.get("Input.system", ""))
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "location": rec.location,
                "data": {
                    "original": key[0],
                    "simplified": key[1],
                    "system": key[2],
                    "id": d.get("Input.id", ""),
                    "workers": [],
                    "ratings": {a: [] for a in WORKER_ASPECTS},
                    "_file": Path(path).name,
                },
            }
        group["data"]["workers"].append(d.get("WorkerId", ""))
        for aspect in WORKER_ASPECTS:
            group["data"]["ratings"][aspect].append(d.get(f"Answer.{aspect}"))
    for group in groups.values():
        yield Record(group["location"], group["data"])


def mean_rating(values: list, name: str, low: float, high: float) -> float:
    if not values:
        raise Unlabeled(f"no {name} ratings")
    scores = []
    for v in values:
        if v is None or str(v).strip() == "":
            raise BadRow(f"empty {name} rating")
        s = to_float(v, name)
        if not low <= s <= high:
            raise BadRow(f"{name} rating {s} outside [{low}, {high}]")
        scores.append(s)
    return sum(scores) / len(scores)


def pair_inputs(original: str, simplification: str) -> dict[str, str]:
    return {"original": original, "simplification": simplification}


def worker_row(record: dict, aspect: str, low: float, high: float) -> Row:
    """A grouped SimpDA / SimpLikert pair: the workers' mean for one aspect, mapped onto 1-5."""
    ratings = record.get("ratings")
    if not isinstance(ratings, dict) or aspect not in ratings:
        raise BadRow(f"missing {aspect!r} ratings")
    score = mean_rating(ratings[aspect], aspect, low, high)
    return Row(
        inputs=pair_inputs(
            require_text(record, "original"), require_text(record, "simplified", allow_empty=True)
        ),
        answer=rescale_to_label(score, low, high),
        metadata={"score": score, "system": str(record.get("system", "")), "n_ratings": len(ratings[aspect])},
    )


_RATING_COLUMN = re.compile(r"^rating_\d+$")


def simpeval_row(record: dict) -> Row:
    """A SimpEval line: the mean of its ``rating_N`` columns (0-100), mapped onto 1-5."""
    columns = sorted((k for k in record if _RATING_COLUMN.match(k)), key=lambda k: int(k.split("_")[1]))
    score = mean_rating([record[k] for k in columns], "overall", 0.0, 100.0)
    key = "processed_generation" if "processed_generation" in record else "generation"
    return Row(
        inputs=pair_inputs(require_text(record, "original"), require_text(record, key, allow_empty=True)),
        answer=rescale_to_label(score, 0.0, 100.0),
        metadata={
            "score": score,
            "subset": str(record.get("_file", "")).split(".")[0],
            "system": str(record.get("system", "")),
            "n_ratings": len(columns),
        },
    )


def wikida_row(record: dict, aspect: str) -> Row:
    """A WikiDA line: the stored mean (0-100) of one aspect, mapped onto 1-5."""
    if record.get(aspect) in (None, ""):
        raise BadRow(f"missing {aspect!r}")
    score = to_float(record[aspect], aspect)
    return Row(
        inputs=pair_inputs(
            require_text(record, "orig_sent"), require_text(record, "simp_sent", allow_empty=True)
        ),
        answer=rescale_to_label(score, 0.0, 100.0),
        metadata={
            "score": score,
            "system": str(record.get("sys_name", "")),
            "subset": str(record.get("sys_type", "")),
        },
    )


INTRO = "In this task, you will be shown a complex English sentence (from Wikipedia or the news) and a simplified version of it."

# The statements of the direct-assessment setup (Alva-Manchego et al. 2020/2021, reused by LENS for SimpDA).
DA_STATEMENTS = {
    "adequacy": "The simplified sentence adequately expresses the meaning of the original, perhaps omitting the "
    "least important information.",
    "meaning": "The simplified sentence adequately expresses the meaning of the original, perhaps omitting the "
    "least important information.",
    "fluency": "The simplified sentence is fluent, there are no grammatical errors.",
    "simplicity": "The simplified sentence is easier to understand than the original sentence.",
}
LIKERT_QUESTIONS = {
    "adequacy": "how well the simplification preserves the meaning of the original, from 1 (meaning lost or "
    "changed) to 5 (all important meaning preserved)",
    "fluency": "how fluent and grammatical the simplification is, from 1 (incomprehensible) to 5 (perfectly fluent)",
    "simplicity": "how much simpler the simplification is than the original, from -2 (much harder) through 0 "
    "(equally difficult) to +2 (much simpler), mapped here onto 1-5",
}
ANSWER_1_5 = "Answer with an integer from 1 (worst) to 5 (best)."


def _register(name: str, aspect: str, title: str, description: str, source, to_row, notes: str) -> None:
    register_task(
        Task(
            name=name,
            dataset="simplification_lens",
            task_type=TaskType.POINTWISE,
            capability="factuality" if aspect in ("adequacy", "meaning") else "general_quality",
            license=LICENSE,
            title=title,
            description=description,
            source=source,
            to_row=to_row,
            labels=score_labels(1, 5),
            hub=None,
            notes=notes,
        )
    )


for _aspect in WORKER_ASPECTS:
    _register(
        f"simplification_lens_simpda_{_aspect}_pointwise_v1",
        _aspect,
        f"How would you rate the {_aspect} of the simplified sentence?",
        f"{INTRO} Crowd workers rated, on a 0-100 scale, how much they agree with the statement: "
        f"'{DA_STATEMENTS[_aspect]}' Rate the {_aspect} of the simplification on that scale mapped onto 1-5, "
        f"where 1 means strong disagreement and 5 full agreement. {ANSWER_1_5}",
        Joined(partial(read_worker_ratings, path=SIMPDA), paths=(SIMPDA,)),
        partial(worker_row, aspect=_aspect, low=0.0, high=100.0),
        "SimpDA 2022: mean of 3 workers' 0-100 ratings mapped onto 1-5.",
    )
    _low, _high = (-2.0, 2.0) if _aspect == "simplicity" else (1.0, 5.0)
    _register(
        f"simplification_lens_simplikert_{_aspect}_pointwise_v1",
        _aspect,
        f"How would you rate the {_aspect} of the simplified sentence?",
        f"{INTRO} Crowd workers rated {LIKERT_QUESTIONS[_aspect]}. Rate the {_aspect} of the simplification. "
        f"{ANSWER_1_5}",
        Joined(partial(read_worker_ratings, path=SIMPLIKERT), paths=(SIMPLIKERT,)),
        partial(worker_row, aspect=_aspect, low=_low, high=_high),
        "SimpLikert 2022: mean of 3 workers' Likert ratings mapped onto 1-5.",
    )

_register(
    "simplification_lens_simpeval_overall_pointwise_v1",
    "overall",
    "How good is the simplification of the sentence overall?",
    f"{INTRO} Annotators compared several simplifications of the same sentence and rated each on a 0-100 scale "
    "for overall quality: a good simplification is clearly easier to read than the original (simpler words, "
    "split or shortened sentences), keeps its main meaning without adding or distorting information, and is "
    f"fluent. Rate the overall quality of the simplification on that scale mapped onto 1-5. {ANSWER_1_5}",
    LocalFiles("simplification_lens/simpeval_2022.csv", "simplification_lens/simpeval_past.csv.gz"),
    simpeval_row,
    "SimpEval_2022 (3 raters) and SimpEval_past (5 raters): mean 0-100 rating mapped onto 1-5; subset = file.",
)

for _aspect in ("fluency", "meaning", "simplicity"):
    _register(
        f"simplification_lens_wikida_{_aspect}_pointwise_v1",
        _aspect,
        f"How would you rate the {'meaning preservation' if _aspect == 'meaning' else _aspect} of the simplified sentence?",
        f"{INTRO} Crowd workers rated, on a 0-100 scale, how much they agree with the statement: "
        f"'{DA_STATEMENTS[_aspect]}' Rate the simplification on that scale mapped onto 1-5, where 1 means "
        f"strong disagreement and 5 full agreement. {ANSWER_1_5}",
        LocalFiles("simplification_lens/simplicity_DA.csv"),
        partial(wikida_row, aspect=_aspect),
        "WikiDA (Alva-Manchego et al. 2021): stored mean of 0-100 ratings mapped onto 1-5.",
    )
