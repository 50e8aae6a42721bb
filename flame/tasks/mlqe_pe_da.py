"""MLQE-PE direct assessments (Fomicheva et al. 2022; the WMT20 quality-estimation Task 1 data): Wikipedia
sentences translated by a Transformer NMT model, each translation scored 0-100 by (at least) three professional
translators, for seven language pairs.

Files: ``mlqe_pe_da/{train,dev,test20}.<lp>.df.short.tsv.gz`` (extracted from the upstream tar.gz), read with
quoting off because sentences contain stray double quotes (a default CSV parse merges rows). A row is one
(original, translation) pair; its label is the mean DA score mapped linearly onto 1-5
(``rescale_to_label(mean, 0, 100)``), the raw mean in ``metadata["score"]`` and the split file as the subset.
One task per language pair. Left out: ``z_mean`` (kept in metadata only) and ``model_scores`` (NMT log-probs,
not a human judgment).
"""

from __future__ import annotations

import csv

from flame.data.preprocess import rescale_to_label, to_float
from flame.data.sources import HubDataset, LocalFiles
from flame.data.task import BadRow, Row, Task, register_task, require_text
from flame.types import TaskType, score_labels

LICENSE = "CC0-1.0"

LANGUAGES = {"en": "English", "de": "German", "zh": "Chinese", "et": "Estonian", "ne": "Nepali", "ro": "Romanian",
             "ru": "Russian", "si": "Sinhala"}  # fmt: skip
PAIRS = ("en-de", "en-zh", "et-en", "ne-en", "ro-en", "ru-en", "si-en")


def source_for(pair: str) -> LocalFiles:
    return LocalFiles(f"mlqe_pe_da/*.{pair.replace('-', '')}.df.short.tsv.gz", quoting=csv.QUOTE_NONE)


def mlqe_row(record: dict) -> Row:
    if record.get("mean") in (None, ""):
        raise BadRow("missing 'mean'")
    score = to_float(record["mean"], "mean")
    split = str(record.get("_file", "")).split(".")[0]
    segment = record.get("index", record.get("segid", ""))  # ru-en names its id column 'segid'
    return Row(
        inputs={
            "source": require_text(record, "original"),
            "translation": require_text(record, "translation", allow_empty=True),
        },
        answer=rescale_to_label(score, 0.0, 100.0),
        metadata={
            "score": score,
            "z_mean": record.get("z_mean", ""),
            "subset": split,
            "segment": str(segment),
        },
    )


def _a(word: str) -> str:
    """The word with its indefinite article ("an English", "a German")."""
    return f"{'an' if word[0] in 'AEIOU' else 'a'} {word}"


for _pair in PAIRS:
    _src, _tgt = _pair.split("-")
    register_task(
        Task(
            name=f"mlqe_pe_da_{_src}_{_tgt}_quality_pointwise_v1",
            dataset="mlqe_pe_da",
            task_type=TaskType.POINTWISE,
            capability="general_quality",
            license=LICENSE,
            title=f"How good is the {LANGUAGES[_tgt]} translation of the {LANGUAGES[_src]} sentence?",
            description=(
                f"In this task, you will be shown {_a(LANGUAGES[_src])} sentence from Wikipedia and its machine "
                f"translation into {LANGUAGES[_tgt]}. Rate the quality of the translation as professional "
                "translators did: the lowest point means an incorrect translation or one with only a few correct "
                "keywords, the middle point a translation that conveys the overall meaning but contains major "
                "mistakes, typos or grammatical errors, the second-highest a translation that closely preserves "
                "the meaning of the source, and the highest a perfect translation. "
                "Answer with an integer from 1 (worst) to 5 (best)."
            ),
            source=source_for(_pair),
            to_row=mlqe_row,
            labels=score_labels(1, 5),
            hub=HubDataset("wmt/wmt20_mlqe_task1", name=_pair, split="train"),
            notes="Label = mean DA (0-100) mapped linearly onto 1-5; raw mean in metadata['score'].",
        )
    )
