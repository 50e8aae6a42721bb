"""mlqe_pe_da: one pointwise task per language pair; the mean DA score (0-100) is mapped onto 1-5."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from realdata import outcomes

from flame.data.task import BadRow, get_task
from flame.tasks.mlqe_pe_da import PAIRS, mlqe_row

SRC = "José Ortega y Gasset visited Husserl at Freiburg in 1934."
MT = "1934 besuchte José Ortega y Gasset Husserl in Freiburg."


def rec(**kw):
    return {"index": "0", "original": SRC, "translation": MT, "scores": "[100, 100, 100]", "mean": "100.0",
            "z_mean": "1.12", "_file": "train.ende.df.short.tsv.gz", **kw}  # fmt: skip


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (rec(), "5"),
        (rec(mean="87.5"), "5"),
        (rec(mean="87.4"), "4"),
        (rec(mean="72.66666666666667"), "4"),
        (rec(mean="50"), "3"),
        (rec(mean="12.4"), "1"),
        (rec(mean="0"), "1"),
        (rec(mean="3.0", translation=""), "1"),  # an empty translation is a bad translation
        (rec(mean=""), BadRow),
        (rec(mean="high"), BadRow),
        (rec(mean="101"), BadRow),
        (rec(mean="-1"), BadRow),
        (rec(original="  "), BadRow),
        ({"index": "1", "translation": MT, "mean": "50"}, BadRow),
    ],
)
def test_mlqe_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            mlqe_row(record)
    else:
        row = mlqe_row(record)
        assert row.answer == expected
        assert list(row.inputs) == ["source", "translation"]
        assert row.metadata["subset"] == "train"
        assert row.metadata["score"] == float(record["mean"])


def test_ru_en_segid_column():
    r = mlqe_row({"segid": "10005", "original": "Привет.", "translation": "Hello.", "mean": "86.3",
                  "_file": "dev.ruen.df.short.tsv.gz"})  # fmt: skip
    assert r.metadata["segment"] == "10005" and r.metadata["subset"] == "dev"


def test_task_sources_read_with_quoting_off():
    for pair in PAIRS:
        task = get_task(f"mlqe_pe_da_{pair.replace('-', '_')}_quality_pointwise_v1")
        assert task.source.quoting == csv.QUOTE_NONE
        assert task.permissive and not task.eval_only
        assert task.labels == ("1", "2", "3", "4", "5")


# Observed: 9,000 rows per pair (train 7,000 + dev 1,000 + test20 1,000), no bad or unlabeled rows.
EXPECTED = {
    "en-de": {"1": 19, "2": 51, "3": 344, "4": 3532, "5": 5054},
    "en-zh": {"1": 46, "2": 651, "3": 1903, "4": 5633, "5": 767},
    "et-en": {"1": 278, "2": 1764, "3": 1471, "4": 2835, "5": 2652},
    "ne-en": {"1": 392, "2": 4698, "3": 2810, "4": 914, "5": 186},
    "ro-en": {"1": 389, "2": 1021, "3": 2017, "4": 2110, "5": 3463},
    "ru-en": {"1": 328, "2": 1243, "3": 1309, "4": 3795, "5": 2325},
    "si-en": {"1": 778, "2": 2779, "3": 2001, "4": 2306, "5": 1136},
}


@pytest.mark.data
def test_real_file_counts():
    for pair, expected_labels in EXPECTED.items():
        o = outcomes(f"mlqe_pe_da_{pair.replace('-', '_')}_quality_pointwise_v1")
        assert o.counts == {"good": 9000}, pair
        subsets = Counter(r.metadata["subset"] for r in o.rows)
        assert subsets == {"train": 7000, "dev": 1000, "test20": 1000}, pair
        assert o.labels == expected_labels, pair
