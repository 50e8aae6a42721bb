"""Benchmark-file rows with an optional ``reference`` (issue 19.2): loaded into the CONTEXT field
``reference answer``, malformed ones reported per line, and written back by `example_to_benchmark_row`."""

from __future__ import annotations

import pytest

from flame.adhoc import REFERENCE_FIELD, REFERENCE_SENTENCE
from flame.data.files import example_to_benchmark_row, load_benchmark_file, write_benchmark_file
from flame.format import render_input

PAIR = {"id": "p", "prompt": "What is 2+2?", "response_a": "4", "response_b": "5", "label": "A"}
POINT = {"id": "s", "prompt": "What is 2+2?", "response": "4", "score": 5, "scale": [1, 5]}


@pytest.mark.parametrize("row", [PAIR, POINT], ids=["pairwise", "pointwise"])
def test_a_reference_loads_as_a_context_field_and_round_trips(tmp_path, row):
    with_ref = {**row, "id": "with-reference", "reference": "Four."}
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "r.jsonl", [with_ref, row]))
    assert not loaded.problems
    ref_ex, plain_ex = loaded.examples
    assert ref_ex.inputs[REFERENCE_FIELD] == "Four."
    assert REFERENCE_SENTENCE in ref_ex.description
    assert REFERENCE_FIELD not in plain_ex.inputs and REFERENCE_SENTENCE not in plain_ex.description
    for ex, original in ((ref_ex, with_ref), (plain_ex, row)):
        written = example_to_benchmark_row(ex)
        assert written == original
        again = load_benchmark_file(write_benchmark_file(tmp_path / "again.jsonl", [written])).examples[0]
        assert render_input(again) == render_input(ex)


def test_a_null_reference_is_no_reference(tmp_path):
    loaded = load_benchmark_file(
        write_benchmark_file(tmp_path / "n.jsonl", [{**PAIR, "reference": None}, {**PAIR, "id": "q"}])
    )
    assert not loaded.problems
    assert render_input(loaded.examples[0]) == render_input(loaded.examples[1])


@pytest.mark.parametrize("value, reason", [("", "empty field 'reference'"), (3, "field 'reference' is int")])
def test_a_malformed_reference_is_one_problem(tmp_path, value, reason):
    loaded = load_benchmark_file(
        write_benchmark_file(tmp_path / "bad.jsonl", [{**PAIR, "reference": value}, PAIR])
    )
    assert len(loaded.examples) == 1
    assert len(loaded.problems) == 1 and reason in loaded.problems[0] and ":1:" in loaded.problems[0]
