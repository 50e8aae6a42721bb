"""Benchmark JSONL files: a table of literal lines → the Example or the problem they give."""

from __future__ import annotations

import json

import pytest

from flame.data.files import (
    PAIRWISE_DESCRIPTION,
    PAIRWISE_TITLE,
    BenchmarkFileError,
    LoadedFile,
    detect_format,
    example_to_benchmark_row,
    load_benchmark_file,
    write_benchmark_file,
)
from flame.format import render_input
from flame.types import Example, TaskType

PAIR = {"prompt": "Name a prime.", "response_a": "7", "response_b": "8", "label": "A"}
POINT = {"prompt": "Name a prime.", "response": "7", "score": 4, "scale": [1, 5]}
CLASSIFY = {
    "fields": {"claim": "Paris is in France.", "evidence": "Paris is the capital of France."},
    "label": "supported",
    "labels": ["supported", "refuted"],
    "instruction": "Does the evidence support the claim?",
}


def load_lines(tmp_path, lines, **kwargs) -> LoadedFile:
    path = write_benchmark_file(tmp_path / "bench.jsonl", lines)
    return load_benchmark_file(path, **kwargs)


def one(tmp_path, line, **kwargs) -> Example:
    loaded = load_lines(tmp_path, [line], **kwargs)
    assert loaded.problems == []
    (ex,) = loaded.examples
    return ex


# ------------------------------------------------------------------------------ good rows


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            PAIR,
            dict(
                task_type=TaskType.PAIRWISE,
                inputs={"prompt": "Name a prime.", "response A": "7", "response B": "8"},
                targets={"answer": "A"},
                labels=("A", "B"),
                id="1",
            ),
        ),
        ({**PAIR, "label": "b", "id": 17}, dict(targets={"answer": "B"}, id="17")),
        ({**PAIR, "label": "TIE"}, dict(targets={"answer": "tie"}, labels=("A", "B", "tie"))),
        ({k: v for k, v in PAIR.items() if k != "label"}, dict(targets={})),  # unlabeled: rated, not scored
        (
            {**PAIR, "response_b": ""},
            dict(inputs={"prompt": "Name a prime.", "response A": "7", "response B": ""}),
        ),
        (
            {
                **{k: v for k, v in PAIR.items() if k != "prompt"},
                "messages": [
                    {"role": "user", "content": "Hi."},
                    {"role": "assistant", "content": "Hello!"},
                    {"role": "user", "content": "Name a prime."},
                ],
            },
            dict(
                inputs={
                    "prompt": "User: Hi.\nAssistant: Hello!\nUser: Name a prime.",
                    "response A": "7",
                    "response B": "8",
                }
            ),
        ),
        ({**PAIR, "subset": "math"}, dict(metadata={"line": 1, "subset": "math"})),
        (
            POINT,
            dict(
                task_type=TaskType.POINTWISE,
                inputs={"prompt": "Name a prime.", "response": "7"},
                targets={"answer": "4"},
                labels=("1", "2", "3", "4", "5"),
                metadata={"line": 1, "scale": [1, 5], "score": 4.0},
            ),
        ),
        ({**POINT, "score": 3.5}, dict(targets={"answer": "4"})),  # a mean of raters rounds half up
        (
            {**POINT, "score": 7, "scale": [0, 10]},
            dict(targets={"answer": "7"}, labels=tuple(str(i) for i in range(11))),
        ),
        (
            {**POINT, "score": 80, "scale": [0, 100]},  # 101 points: rescaled onto 1-5, raw score kept
            dict(
                targets={"answer": "4"},
                labels=("1", "2", "3", "4", "5"),
                metadata={"line": 1, "scale": [0, 100], "score": 80.0},
            ),
        ),
        ({**POINT, "response": ""}, dict(inputs={"prompt": "Name a prime.", "response": ""})),
        (
            CLASSIFY,
            dict(
                task_type=TaskType.CLASSIFICATION,
                inputs={"claim": "Paris is in France.", "evidence": "Paris is the capital of France."},
                targets={"answer": "supported"},
                labels=("supported", "refuted"),
                description="Does the evidence support the claim?",
            ),
        ),
        ({**CLASSIFY, "label": "Refuted"}, dict(targets={"answer": "refuted"})),
    ],
)
def test_good_rows(tmp_path, line, expected):
    ex = one(tmp_path, line)
    assert ex.task == "file:bench"
    for key, value in expected.items():
        assert getattr(ex, key) == value, key


def test_pairwise_defaults_and_tie_sentence(tmp_path):
    plain = one(tmp_path, PAIR)
    assert plain.title == PAIRWISE_TITLE
    assert plain.description.startswith(PAIRWISE_DESCRIPTION)
    assert "'A' if Response A is better, 'B' if Response B is better" in plain.description
    assert "tie" not in plain.description
    loaded = load_lines(tmp_path, [PAIR, {**PAIR, "label": "tie"}])
    assert all(ex.labels == ("A", "B", "tie") and "'tie'" in ex.description for ex in loaded.examples)


def test_criterion_replaces_the_description(tmp_path):
    ex = one(tmp_path, {**PAIR, "criterion": "Which response is more concise?"})
    assert ex.description.startswith("Which response is more concise? Answer 'A'")
    assert PAIRWISE_DESCRIPTION not in ex.description
    point = one(tmp_path, {**POINT, "criterion": "Rate the humor of the response."})
    assert (
        point.description
        == "Rate the humor of the response. Answer with an integer from 1 (worst) to 5 (best)."
    )


def test_rendered_like_any_task(tmp_path):
    text = render_input(one(tmp_path, PAIR))
    assert "title: Which response is better?" in text
    assert text.endswith("CONTEXT:\nprompt: Name a prime.\nresponse A: 7\nresponse B: 8")


@pytest.mark.parametrize(
    "obj, fmt",
    [
        (PAIR, "pairwise"),
        (POINT, "pointwise"),
        (CLASSIFY, "classification"),
        ({"prompt": "x", "response": "y"}, "pointwise"),
    ],
)
def test_detect_format(obj, fmt):
    assert detect_format(obj) == fmt


def test_detect_format_fails_on_unknown_keys():
    with pytest.raises(ValueError, match="cannot tell"):
        detect_format({"question": "x"})


# ------------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(
    "line, problem",
    [
        ({k: v for k, v in PAIR.items() if k != "response_b"}, "missing field 'response_b'"),
        ({k: v for k, v in PAIR.items() if k != "prompt"}, "missing field 'prompt'"),
        ({**PAIR, "label": "C"}, "label 'C' is not one of 'A', 'B', 'tie'"),
        ({**PAIR, "label": 1}, "label 1 is not one of"),
        ('{"prompt": "x", "response_a": ', "bad JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        (b'{"prompt": "caf\xe9", "response_a": "a", "response_b": "b", "label": "A"}', "not UTF-8"),
        ({**PAIR, "prompt": "   "}, "empty field 'prompt'"),
        ({**PAIR, "response_a": 5}, "field 'response_a' is int, not text"),
        ({**PAIR, "prompt": None}, "missing field 'prompt'"),
        ({**PAIR, "messages": [{"role": "user", "content": "hi"}]}, "both 'prompt' and 'messages'"),
        (
            {**{k: v for k, v in PAIR.items() if k != "prompt"}, "messages": []},
            "'messages' must be a non-empty list",
        ),
        ({**{k: v for k, v in PAIR.items() if k != "prompt"}, "messages": [{"role": "user"}]}, "messages[0]"),
        ({**PAIR, "criterion": ""}, "empty field 'criterion'"),
        ({**POINT, "score": 6}, "score 6 outside the scale [1, 5]"),
        ({**POINT, "score": "good"}, "score is not a number"),
        ({**POINT, "score": True}, "score is bool"),
        ({k: v for k, v in POINT.items() if k != "scale"}, "missing field 'scale'"),
        ({**POINT, "scale": [5, 1]}, "empty scale"),
        ({**POINT, "scale": 5}, "is not [min, max]"),
        ({**CLASSIFY, "label": "maybe"}, "label 'maybe' is not one of"),
        ({**CLASSIFY, "labels": ["only"]}, "'labels' must be a list of at least two"),
        ({**CLASSIFY, "fields": {"claim": 3}}, "fields['claim'] is int"),
        ({**CLASSIFY, "fields": {"claim": ""}}, "every text in 'fields' is empty"),
        ({k: v for k, v in CLASSIFY.items() if k != "instruction"}, "missing field 'instruction'"),
    ],
)
def test_bad_rows_are_reported_and_good_rows_kept(tmp_path, line, problem):
    first = (
        CLASSIFY
        if isinstance(line, dict) and "fields" in line
        else POINT
        if isinstance(line, dict) and "response" in line
        else PAIR
    )
    loaded = load_lines(tmp_path, [first, line, {**first, "id": "last"}])
    assert [ex.id for ex in loaded.examples] == ["1", "last"]
    assert len(loaded.problems) == 1 and loaded.n_lines == 3
    (message,) = loaded.problems
    assert message.startswith(f"{tmp_path / 'bench.jsonl'}:2: ")
    assert problem in message
    assert "2 " in loaded.summary() and "1 skipped" in loaded.summary()


def test_explicit_format_mismatch_is_a_problem_per_line(tmp_path):
    loaded = load_lines(tmp_path, [PAIR, PAIR, POINT], format="pointwise")
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in loaded.problems] == ["1", "2"]
    assert all("a pairwise row" in p and "in a pointwise file" in p for p in loaded.problems)
    assert len(loaded.examples) == 1 and loaded.format == "pointwise"


def test_detected_format_comes_from_the_first_row(tmp_path):
    loaded = load_lines(tmp_path, [{"junk": 1}, POINT, PAIR])
    assert loaded.format == "pointwise"
    assert len(loaded.examples) == 1 and len(loaded.problems) == 2


def test_undetectable_file_reports_every_line(tmp_path):
    loaded = load_lines(tmp_path, [{"question": "x"}, {"question": "y"}])
    assert loaded.examples == [] and len(loaded.problems) == 2
    assert all("cannot tell the format" in p for p in loaded.problems)


def test_duplicate_ids_are_problems(tmp_path):
    loaded = load_lines(tmp_path, [{**PAIR, "id": "x"}, {**PAIR, "id": "x"}])
    assert len(loaded.examples) == 1
    assert "duplicate id 'x' (first on line 1)" in loaded.problems[0]


def test_blank_lines_hold_no_row_but_keep_line_numbers(tmp_path):
    loaded = load_lines(tmp_path, [PAIR, "", "  ", PAIR])
    assert [ex.id for ex in loaded.examples] == ["1", "4"] and loaded.n_lines == 2


def test_task_name_and_gzip(tmp_path):
    path = write_benchmark_file(tmp_path / "my_bench.jsonl.gz", [PAIR])
    loaded = load_benchmark_file(path, task_name="mine_v1")
    assert loaded.examples[0].task == "mine_v1"
    assert load_benchmark_file(path).examples[0].task == "file:my_bench"


def test_missing_file_is_one_clear_error(tmp_path):
    path = tmp_path / "nowhere.jsonl"
    with pytest.raises(BenchmarkFileError, match="nowhere.jsonl") as err:
        load_benchmark_file(path)
    assert isinstance(err.value, FileNotFoundError)


def test_unknown_format_name():
    with pytest.raises(ValueError, match="pairwise, pointwise, classification"):
        load_benchmark_file("x.jsonl", format="ranking")


# ----------------------------------------------------------------------------- round trip


def test_round_trip(tmp_path):
    rows = [
        PAIR,
        {**PAIR, "label": "tie", "criterion": "Which is shorter?", "subset": "s", "id": "p2"},
        {**{k: v for k, v in PAIR.items() if k != "label"}, "title": "Pick one"},
    ]
    for fmt_rows in (
        rows,
        [POINT, {**POINT, "score": 80, "scale": [0, 100]}, {**POINT, "score": 2.5}],
        [CLASSIFY],
    ):
        first = load_lines(tmp_path, fmt_rows)
        assert first.problems == []
        exported = [example_to_benchmark_row(ex) for ex in first.examples]
        json.dumps(exported)  # plain JSON
        again = load_benchmark_file(
            write_benchmark_file(tmp_path / "again.jsonl", exported), task_name="file:bench"
        )
        assert again.problems == []
        assert again.examples == first.examples


def test_registered_style_example_exports():
    # A registered task's Example (its own input names, description and title) exports to a pointwise row.
    ex = Example(
        task="summeval_coherence_pointwise_v1",
        task_type=TaskType.POINTWISE,
        title="How would you rate the coherence of the summary?",
        description="Rate the coherence. Answer with an integer from 1 (worst) to 5 (best).",
        inputs={"article": "The article.", "summary": "The summary."},
        targets={"answer": "4"},
        labels=("1", "2", "3", "4", "5"),
        id="7",
        metadata={"score": 3.67},
    )
    row = example_to_benchmark_row(ex)
    assert row == {
        "id": "7",
        "prompt": "The article.",
        "response": "The summary.",
        "scale": [1, 5],
        "score": 3.67,
        "criterion": "Rate the coherence.",
        "title": "How would you rate the coherence of the summary?",
    }
    generative = Example("g_v1", TaskType.GENERATIVE, "t", "d", {"x": "y"}, {"answer": "free text"})
    with pytest.raises(ValueError, match="no benchmark-file form"):
        example_to_benchmark_row(generative)
