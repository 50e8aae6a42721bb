"""wmt_mqm: TED MQM annotations grouped per (system, segment) -> a 1-5 quality score and the error list."""

from __future__ import annotations

import gzip

import pytest
from realdata import outcomes

from flame.data.sources import BadRecord, Record
from flame.data.task import BadRow
from flame.tasks.wmt_mqm import mqm_errors_row, mqm_label, mqm_row, mqm_score, read_mqm

SRC = "It was Einstein's great general theory of relativity."
MT = "Es war Einsteins große allgemeine Relativitätstheorie."


def err(category, severity, span=None, span_in="target", rater="rater1", comment=""):
    return {"rater": rater, "category": category, "severity": severity, "span": span,
            "span_in": span_in if span is not None else None, "comment": comment}  # fmt: skip


def rec(*errors, **kw):
    return {"system": "Nemo", "seg_id": "19", "doc": "talk.1", "source": SRC, "target": MT, "errors": list(errors),
            **kw}  # fmt: skip


@pytest.mark.parametrize(
    ("record", "label", "errors"),
    [
        (rec(err("No-error", "No-error")), "5", "no errors"),
        (rec(err("Fluency/Punctuation", "Minor", ",")), "4", 'fluency/punctuation (minor): ","'),
        (
            rec(
                err("Other", "Minor", "allgemeine ", comment="Orthography"),
                err("Style/Awkward", "Minor", "große"),
            ),
            "4",
            'other (minor): "allgemeine" [Orthography]\nstyle/awkward (minor): "große"',
        ),
        (rec(err("Accuracy/Mistranslation", "Major", "war")), "3", 'accuracy/mistranslation (major): "war"'),
        (
            rec(
                err("Accuracy/Omission", "Major", "great", span_in="source"), err("Fluency/Grammar", "Major")
            ),
            "2",
            'accuracy/omission (major): in the source "great"\nfluency/grammar (major)',
        ),
        (rec(err("Non-translation!", "Major")), "1", "non-translation! (major)"),
        (
            rec(err("Source error", "Minor", "great", span_in="source")),
            "4",
            'source error (minor): in the source "great"',
        ),
        (rec(err("Style/Awkward", "Critical", "war")), BadRow, BadRow),
        (rec(err("Style/Awkward", "", "war")), BadRow, BadRow),
        (rec(), BadRow, BadRow),
        (rec(err("No-error", "No-error"), source=""), BadRow, BadRow),
    ],
)
def test_mqm_rows(record, label, errors):
    if isinstance(label, type):
        with pytest.raises(label):
            mqm_row(record)
        with pytest.raises(errors):
            mqm_errors_row(record)
        return
    row = mqm_row(record)
    assert row.answer == label
    assert row.inputs == {"source": SRC, "translation": MT}
    assert row.metadata["score"] == -row.metadata["mqm"]
    assert mqm_errors_row(record).answer == errors


def test_mqm_score_averages_raters_and_label_bounds():
    errors = [err("Style/Awkward", "Major", rater="r1"), err("No-error", "No-error", rater="r2")]
    assert mqm_score(errors) == 2.5
    assert [mqm_label(s) for s in (0, 0.1, 4.9, 5, 9.9, 10, 14.9, 15, 25)] == list("544332211")
    with pytest.raises(BadRow):
        mqm_label(-1)


def test_read_mqm_groups_lines_and_strips_markup(tmp_path):
    header = "system\tdoc\tdoc_id\tseg_id\trater\tsource\ttarget\tcategory\tseverity\n"
    lines = [
        f'Nemo\ttalk.1\t19\t19\trater4\t{SRC}\tEs war Einsteins große <v>allgemeine </v>"Relativitätstheorie.\tOther\tMinor\n',
        'Nemo\ttalk.1\t19\t19\trater4\t<v>It</v> was Einstein\'s great general theory of relativity.\tEs war Einsteins große allgemeine "Relativitätstheorie.\tAccuracy/Omission\tMajor\n',
        f'ref\ttalk.1\t19\t19\trater1\t{SRC}\t{MT}\tNo-error\tNo-error\n',
        f'ref\ttalk.1\t19\t19\trater1\t{SRC}\tA different text\tStyle/Awkward\tMinor\n',
        "broken\tline\n",
    ]  # fmt: skip
    (tmp_path / "m.tsv.gz").write_bytes(gzip.compress((header + "".join(lines)).encode()))
    out = list(read_mqm(tmp_path, "m.tsv.gz"))
    good = [r for r in out if isinstance(r, Record)]
    assert len(good) == 1 and sum(isinstance(r, BadRecord) for r in out) == 2  # texts differ; 2 fields
    data = good[0].data
    assert (
        data["target"] == 'Es war Einsteins große allgemeine "Relativitätstheorie.'
    )  # quote kept (quoting off)
    assert data["source"] == SRC
    assert [(e["span"], e["span_in"]) for e in data["errors"]] == [
        ("allgemeine ", "target"),
        ("It", "source"),
    ]
    assert mqm_row(data).answer == "3"


# Observed in mqm_ted_{ende,zhen}.tsv.gz: one rater per (system, segment); no bad or unlabeled records.
# The -MQM scores equal the released *.avg_seg_scores.tsv wherever that file has a number.
EXPECTED = {
    "en_de": (7406, {"1": 38, "2": 224, "3": 1300, "4": 1440, "5": 4404}),
    "zh_en": (7935, {"1": 218, "2": 500, "3": 1624, "4": 1296, "5": 4297}),
}


@pytest.mark.data
def test_real_file_counts():
    for pair, (good, expected_labels) in EXPECTED.items():
        for kind in ("quality_pointwise", "errors_generative"):
            o = outcomes(f"wmt_mqm_ted_{pair}_{kind}_v1")
            assert o.task.permissive and not o.task.eval_only
            assert o.counts == {"good": good}, (pair, kind)
            if o.task.labels:
                assert o.labels == expected_labels, pair
            else:
                # "no errors" exactly where the score is 5
                assert o.labels["no errors"] == expected_labels["5"], pair
