"""simplification_lens: worker ratings grouped per pair (SimpDA, SimpLikert), SimpEval and WikiDA means."""

from __future__ import annotations

import pytest
from realdata import outcomes

from flame.data.sources import BadRecord, Record
from flame.data.task import BadRow, Unlabeled
from flame.tasks.simplification_lens import read_worker_ratings, simpeval_row, wikida_row, worker_row

ORIG = "On the fifth day of flight, the Orion spacecraft entered the Lunar sphere of influence."
SIMP = "On day five, the Moon's gravity started to pull Orion more than Earth's."


def grouped(**ratings):
    return {"original": ORIG, "simplified": SIMP, "system": "Muss", "id": "40", "ratings": ratings}


@pytest.mark.parametrize(
    ("record", "aspect", "low", "high", "expected"),
    [
        (grouped(adequacy=["100", "100", "91"]), "adequacy", 0, 100, "5"),
        (grouped(fluency=["50", "40", "60"]), "fluency", 0, 100, "3"),
        (grouped(simplicity=["0", "10", "20"]), "simplicity", 0, 100, "1"),
        (grouped(simplicity=["2", "1", "0"]), "simplicity", -2, 2, "4"),  # Likert -2..+2: mean 1 -> 4
        (grouped(simplicity=["-2", "-2", "-1"]), "simplicity", -2, 2, "1"),
        (grouped(adequacy=["5", "4", "4"]), "adequacy", 1, 5, "4"),
        (grouped(adequacy=["5", "4", "5"]), "adequacy", 1, 5, "5"),
        (grouped(adequacy=[]), "adequacy", 0, 100, Unlabeled),
        (grouped(adequacy=["100", ""]), "adequacy", 0, 100, BadRow),
        (grouped(adequacy=["100", "lots"]), "adequacy", 0, 100, BadRow),
        (grouped(adequacy=["101"]), "adequacy", 0, 100, BadRow),
        (grouped(adequacy=["6"]), "adequacy", 1, 5, BadRow),
        (grouped(fluency=["100"]), "adequacy", 0, 100, BadRow),
        ({**grouped(adequacy=["90"]), "original": ""}, "adequacy", 0, 100, BadRow),
    ],
)
def test_worker_row(record, aspect, low, high, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            worker_row(record, aspect=aspect, low=low, high=high)
    else:
        row = worker_row(record, aspect=aspect, low=low, high=high)
        assert row.answer == expected
        assert row.inputs == {"original": ORIG, "simplification": SIMP}


def test_read_worker_ratings_groups_lines_of_one_pair(tmp_path):
    (tmp_path / "s.csv").write_text(
        "WorkerId,Input.id,Input.original,Input.simplified,Input.system,Answer.adequacy,Answer.fluency,Answer.simplicity\n"
        f'0,40,"{ORIG}","{SIMP}",Muss,100,100,91\n'
        f'1,40,"{ORIG}","{SIMP}",Muss,90,80,70\n'
        f'0,40,"{ORIG}","Another one.",T5-3B,10,20,30\n'
        "2,41,only,four,fields\n"
    )
    out = list(read_worker_ratings(tmp_path, "s.csv"))
    bad = [r for r in out if isinstance(r, BadRecord)]
    good = [r for r in out if isinstance(r, Record)]
    assert len(bad) == 1 and len(good) == 2
    assert good[0].location == "s.csv:2"
    assert good[0].data["ratings"] == {
        "adequacy": ["100", "90"],
        "fluency": ["100", "80"],
        "simplicity": ["91", "70"],
    }
    assert worker_row(good[0].data, aspect="adequacy", low=0, high=100).metadata["score"] == 95.0


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"original": ORIG, "generation": SIMP, "rating_1": "100.0", "rating_2": "70.0", "rating_3": "70.0",
          "rating_1_zscore": "1.3", "_file": "simpeval_2022.csv"}, "4"),
        ({"original": ORIG, "generation": "lower case", "processed_generation": "", "rating_1": "0",
          "rating_2": "10", "_file": "simpeval_past.csv.gz"}, "1"),  # the readable form is used, empty allowed
        ({"original": ORIG, "generation": SIMP, "_file": "simpeval_2022.csv"}, Unlabeled),
        ({"original": ORIG, "generation": SIMP, "rating_1": "NaN"}, BadRow),
        ({"original": ORIG, "generation": SIMP, "rating_1": "150"}, BadRow),
        ({"original": " ", "generation": SIMP, "rating_1": "50"}, BadRow),
    ],
)  # fmt: skip
def test_simpeval_row(record, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            simpeval_row(record)
    else:
        row = simpeval_row(record)
        assert row.answer == expected
        assert row.inputs["simplification"] == record.get("processed_generation", record["generation"])


@pytest.mark.parametrize(
    ("record", "aspect", "expected"),
    [
        (
            {"orig_sent": ORIG, "simp_sent": SIMP, "meaning": "77.33333333", "sys_name": "ACCESS"},
            "meaning",
            "4",
        ),
        ({"orig_sent": ORIG, "simp_sent": SIMP, "fluency": "30"}, "fluency", "2"),
        ({"orig_sent": ORIG, "simp_sent": SIMP, "fluency": ""}, "fluency", BadRow),
        ({"orig_sent": ORIG, "simp_sent": SIMP}, "simplicity", BadRow),
        ({"orig_sent": ORIG, "simp_sent": SIMP, "simplicity": "-3"}, "simplicity", BadRow),
    ],
)
def test_wikida_row(record, aspect, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            wikida_row(record, aspect=aspect)
    else:
        assert wikida_row(record, aspect=aspect).answer == expected


# (good rows, label distribution) observed; no bad, unlabeled or unreadable records in any file.
EXPECTED = {
    "simpda_adequacy": (360, {"2": 1, "3": 21, "4": 108, "5": 230}),
    "simpda_fluency": (360, {"3": 3, "4": 87, "5": 270}),
    "simpda_simplicity": (360, {"2": 8, "3": 65, "4": 195, "5": 92}),
    "simplikert_adequacy": (360, {"1": 1, "2": 8, "3": 28, "4": 103, "5": 220}),
    "simplikert_fluency": (360, {"3": 10, "4": 87, "5": 263}),
    "simplikert_simplicity": (360, {"2": 1, "3": 71, "4": 191, "5": 97}),
    "simpeval_overall": (2760, {"1": 4, "2": 131, "3": 430, "4": 1796, "5": 399}),
    "wikida_fluency": (600, {"1": 3, "2": 40, "3": 115, "4": 258, "5": 184}),
    "wikida_meaning": (600, {"1": 12, "2": 103, "3": 167, "4": 210, "5": 108}),
    "wikida_simplicity": (600, {"1": 9, "2": 176, "3": 205, "4": 195, "5": 15}),
}


@pytest.mark.data
def test_real_file_counts():
    for aspect, (good, expected_labels) in EXPECTED.items():
        o = outcomes(f"simplification_lens_{aspect}_pointwise_v1")
        assert not o.task.permissive and not o.task.eval_only
        assert o.counts == {"good": good}, aspect
        assert o.labels == expected_labels, aspect
