"""Issue 14, input files: hostile lines in `flame rate --input` and `flame eval --file` become
``file:line: why`` problems, the good rows are kept, and nothing ends in a traceback.

Each test is named after the bullet it pins; the property tests at the end generate rows from the real
formats plus hostile mutations and check the loader's promise on every one."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flame.cli import main
from flame.data.files import load_benchmark_file, write_benchmark_file

GOOD = {"prompt": "Name a prime.", "response_a": "7", "response_b": "8", "label": "A"}
HOSTILE = {
    "deep_nesting": b"[" * 200_000,
    "huge_integer_id": b'{"id": ' + b"7" * 5000 + b', "prompt": "p", "response_a": "a", "response_b": "b"}',
    "surrogate_in_prompt": b'{"prompt": "\\ud800", "response_a": "a", "response_b": "b", "label": "A"}',
    "surrogate_in_id": b'{"id": "x\\udfff", "prompt": "p", "response_a": "a", "response_b": "b"}',
    "duplicate_key": b'{"prompt": "p", "prompt": "q", "response_a": "a", "response_b": "b"}',
}


def _file(tmp_path, hostile: bytes):
    return write_benchmark_file(tmp_path / "pairs.jsonl", [GOOD, hostile, {**GOOD, "id": "last"}])


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_line_is_a_problem_and_good_rows_are_kept(tmp_path, name):
    loaded = load_benchmark_file(_file(tmp_path, HOSTILE[name]))
    assert [ex.id for ex in loaded.examples] == ["1", "last"]
    (problem,) = loaded.problems
    assert problem.startswith(f"{tmp_path / 'pairs.jsonl'}:2: ")
    assert "\n" not in problem


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_flame_rate_reports_the_line_without_a_traceback(tmp_path, capsys, name):
    out = tmp_path / "judged.jsonl"
    rc = main(
        ["rate", "--rater", "length", "--input", str(_file(tmp_path, HOSTILE[name])), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert rc == 0
    assert "Traceback" not in err
    assert "pairs.jsonl:2:" in err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["1", "last"]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_flame_eval_reports_the_line_without_a_traceback(tmp_path, capsys, name):
    rc = main(
        [
            "eval", "--rater", "length", "--no-baselines", "--quiet", "--resamples", "20",
            "--file", str(_file(tmp_path, HOSTILE[name])), "--out", str(tmp_path / "eval"),
        ]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert "pairs.jsonl:2:" in json.dumps(results)


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n" + json.dumps(GOOD | {"id": "2"}).encode()
    )
    loaded = load_benchmark_file(path)
    assert loaded.problems == []
    assert [ex.id for ex in loaded.examples] == ["1", "2"]


def test_too_many_labels_is_a_problem(tmp_path):
    row = {"fields": {"text": "hi"}, "labels": [f"l{i}" for i in range(5001)], "instruction": "Pick one."}
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "c.jsonl", [row]))
    assert loaded.examples == []
    assert "5001 labels, over the limit of 100" in loaded.problems[0]


@pytest.mark.parametrize(
    "labels, why",
    [(["yes", "yes"], "repeat the label 'yes'"), (["yes", "  "], "is empty"), (["yes"], "at least two")],
)
def test_label_rule_in_files(tmp_path, labels, why):
    row = {"fields": {"text": "hi"}, "labels": labels, "instruction": "Pick one."}
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "c.jsonl", [row]))
    assert loaded.examples == [] and why in loaded.problems[0]


# ------------------------------------------------------------------------------------ properties

text = st.text(max_size=20)
nonempty = st.text(min_size=1, max_size=20).filter(str.strip)
good_rows = st.one_of(
    st.fixed_dictionaries(
        {"prompt": nonempty, "response_a": text, "response_b": text},
        optional={"label": st.sampled_from(["A", "B", "a", "b"]), "subset": nonempty, "criterion": nonempty},
    ),
)


def _mutations():
    """Lines that are not a usable row: each must be reported with its line number."""
    return st.one_of(
        st.integers(1, 3000).map(lambda n: b"[" * n),
        st.integers(4301, 6000).map(lambda n: b'{"id": ' + b"9" * n + b"}"),
        st.sampled_from([b'"\\ud800"', b'{"prompt": "\\udc00x"}', b'{"a": 1, "a": 2}', b"\xff\xfe", b"{"]),
        st.sampled_from(
            [b"[]", b"1", b"null", b'"text"', b'{"prompt": 5, "response_a": "a", "response_b": "b"}']
        ),
        st.binary(max_size=30).filter(lambda b: b.strip() and b"\n" not in b),
    )


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(
        st.one_of(good_rows.map(lambda r: ("good", r)), _mutations().map(lambda b: ("bad", b))),
        min_size=1,
        max_size=8,
    )
)
def test_property_every_good_row_kept_every_bad_line_reported(tmp_path, lines):
    rows = []
    for i, (kind, value) in enumerate(lines, start=1):
        rows.append({**value, "id": f"row{i}"} if kind == "good" else value)
    path = write_benchmark_file(tmp_path / "prop.jsonl", rows)
    loaded = load_benchmark_file(path, format="pairwise")  # must never raise
    good_ids = [f"row{i}" for i, (kind, _) in enumerate(lines, start=1) if kind == "good"]
    assert [ex.id for ex in loaded.examples] == good_ids
    reported = {int(p.split(": ", 1)[0].rsplit(":", 1)[1]) for p in loaded.problems}
    bad = {i for i, (kind, _) in enumerate(lines, start=1) if kind == "bad"}
    assert reported == bad  # each bad line reported once, by its number; no good row reported
    assert len(loaded.problems) == len(bad)
    assert all("\n" not in p for p in loaded.problems)


def test_a_scale_end_too_large_for_a_float_is_a_problem(tmp_path):
    rows = [
        {"id": "ok", "prompt": "p", "response": "r", "scale": [1, 5], "score": 3},
        '{"id": "huge", "prompt": "p", "response": "r", "scale": [1, ' + "9" * 400 + "]}",
    ]
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "s.jsonl", rows))
    assert [ex.id for ex in loaded.examples] == ["ok"]
    assert loaded.problems == [f"{tmp_path / 's.jsonl'}:2: scale max is too large for a number (400 digits)"]


def test_a_hundred_labels_are_judged_by_the_fake_rater(tmp_path):
    from flame.raters.baselines import FakeRater

    labels = [f"label {i}" for i in range(100)]
    row = {"fields": {"text": "t"}, "labels": labels, "instruction": "Pick one.", "label": "label 7"}
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "c.jsonl", [row]))
    (judgment,) = FakeRater().judge(loaded.examples)
    assert list(judgment.probs) == labels and sum(judgment.probs.values()) == pytest.approx(1.0)
    assert len(set(judgment.probs.values())) > 32  # every label has its own weight, not one digest's worth
