"""`flame eval --benchmark rewardbench=FILE` on a committed sample in RewardBench's own columns, in each
format the loader reads, and the caps: an explicit --limit caps every benchmark, the default spares
benchmarks scored whole.

fixtures/rewardbench_sample.jsonl: 16 synthetic pairs (written for these tests, not RewardBench data) in
the official columns ``prompt, chosen, rejected, subset`` (plus ``id``), over eight subsets of the four
scored sections.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from flame.benchmarks import DEFAULT_LIMIT, Benchmark, get_benchmark, rewardbench
from flame.cli import main
from flame.data.files import write_benchmark_file
from flame.types import TaskType

FIXTURE = Path(__file__).parent / "fixtures" / "rewardbench_sample.jsonl"
ROWS = [json.loads(line) for line in FIXTURE.read_text().splitlines()]

# The length rule: the longer response wins, so a pair counts as right when its chosen answer is the
# longer one. By hand, per subset of the fixture (right / rows):
ACCURACY = {
    "alpacaeval-easy": 2 / 3,  # rows 1, 2 right; 3 ("Glad.") wrong
    "mt-bench-easy": 1 / 2,  # 4 right; 5 ("56") wrong
    "mt-bench-hard": 0.0,  # 6, 7: the rejected answers ramble
    "llmbar-natural": 1 / 2,  # 8 right; 9 ("Ottawa.") wrong
    "refusals-dangerous": 0.0,  # 10, 11: the chosen refusals are short
    "xstest-should-respond": 1.0,  # 12, 13: the chosen answers help at length
    "hep-python": 1 / 2,  # 14 right; 15 (the long buggy is_even) wrong
    "math-prm": 1.0,  # 16 right
}
# The official section weighting (EXAMPLE_COUNTS): alpacaeval-easy 100, mt-bench-easy 28, mt-bench-hard 37,
# llmbar-natural 100, refusals-dangerous 100, xstest-should-respond 154, hep-python 164, math-prm 984.
CHAT = (100 * 2 / 3 + 28 * 1 / 2) / (100 + 28)
CHAT_HARD = (37 * 0.0 + 100 * 1 / 2) / (37 + 100)
SAFETY = (100 * 0.0 + 154 * 1.0) / (100 + 154)
REASONING = (164 * 1 / 2 + 984 * 1.0) / (164 + 984)
SCORE = (CHAT + CHAT_HARD + SAFETY + REASONING) / 4


def test_the_fixture_follows_the_hand_count():
    assert len(ROWS) == 16
    assert all(set(r) == {"prompt", "chosen", "rejected", "subset", "id"} for r in ROWS)
    by_subset: dict[str, list[bool]] = {}
    for r in ROWS:
        by_subset.setdefault(r["subset"], []).append(len(r["chosen"]) > len(r["rejected"]))
    assert {s: sum(v) / len(v) for s, v in by_subset.items()} == pytest.approx(ACCURACY)
    assert rewardbench.section_scores(ACCURACY) == pytest.approx(
        {"Chat": CHAT, "Chat Hard": CHAT_HARD, "Safety": SAFETY, "Reasoning": REASONING}
    )
    # Neither the pooled accuracy (8/16) nor the plain mean over subsets is the official score.
    assert rewardbench.score(ACCURACY) == pytest.approx(SCORE)
    assert abs(SCORE - 0.5) > 0.1 and abs(SCORE - sum(ACCURACY.values()) / 8) > 0.05


def _as(path: Path, suffix: str) -> Path:
    """The fixture as a .jsonl (the committed file), .json (a list of rows) or .parquet file."""
    if suffix == ".jsonl":
        return FIXTURE
    out = path / f"rewardbench_sample{suffix}"
    if suffix == ".json":
        out.write_text(json.dumps(ROWS))
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(ROWS), out)
    return out


def _eval(out: Path, *args: str) -> dict:
    rc = main(["eval", "--rater", "length", "--quiet", "--resamples", "20", *args, "--out", str(out)])
    assert rc == 0
    return json.loads((out / "results.json").read_text())


def _entries(results: dict, rater: str, benchmark: str) -> dict[tuple[str, str], dict]:
    return {
        (m["subset"], m["metric"]): m
        for m in results["metrics"]
        if m["rater"] == rater and m["benchmark"] == benchmark
    }


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_flame_eval_rewardbench_file_gives_the_official_section_weighting(tmp_path, suffix, capsys):
    results = _eval(tmp_path / "eval", "--benchmark", f"rewardbench={_as(tmp_path, suffix)}")
    got = _entries(results, "length", "rewardbench")
    for subset, acc in ACCURACY.items():
        assert got[(subset, "accuracy")]["value"] == pytest.approx(acc)
        assert got[(subset, "accuracy")]["kind"] == "subset"
    for section, value in [
        ("Chat", CHAT),
        ("Chat Hard", CHAT_HARD),
        ("Safety", SAFETY),
        ("Reasoning", REASONING),
    ]:
        assert got[(section, "accuracy")]["value"] == pytest.approx(value)
        assert got[(section, "accuracy")]["kind"] == "section"
    assert ("Prior Sets", "accuracy") not in got  # no prior-set subset in the sample
    assert got[("all", "accuracy")]["value"] == pytest.approx(SCORE)
    assert got[("all", "accuracy")]["n"] == 16

    (bench,) = results["benchmarks"]
    assert bench["name"] == "rewardbench" and bench["n"] == 16 and bench["malformed_rows"] == 0
    assert bench["aggregate"] == "flame.benchmarks.rewardbench.score"
    assert [s["name"] for s in bench["sections"]] == [
        "Chat",
        "Chat Hard",
        "Safety",
        "Reasoning",
        "Prior Sets",
    ]
    assert bench["scored_whole"] is True and bench["cap"] is None
    assert "random" in {r["spec"] for r in results["raters"]}  # the baselines ran beside it
    # The sections reach the summary printed by the CLI and the report, from the benchmark's record.
    printed = capsys.readouterr().out
    assert "rewardbench / Chat Hard" in printed
    md = (tmp_path / "eval" / "report.md").read_text()
    assert f"| rewardbench / Safety | accuracy | {SAFETY:.3f}" in md


def _pairs_file(path: Path, n: int) -> Path:
    rows = [
        {"id": str(i), "prompt": f"p{i}", "response_a": "a" * (i % 7 + 1), "response_b": "bbbb", "label": "A"}
        for i in range(n)
    ]
    return write_benchmark_file(path, rows)


def _big_rewardbench(path: Path, n: int) -> Path:
    rows = [
        {"id": i, "prompt": f"q{i}", "chosen": "yes " * (i % 3 + 1), "rejected": "no", "subset": "hep-go"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _sizes(results: dict) -> dict[str, tuple[int, int | None]]:
    return {b["name"]: (b["n"], b["cap"]) for b in results["benchmarks"]}


def test_default_cap_spares_rewardbench_an_explicit_limit_caps_every_benchmark(tmp_path):
    assert DEFAULT_LIMIT == 256
    rb = _big_rewardbench(tmp_path / "rb.jsonl", 300)
    pairs = _pairs_file(tmp_path / "pairs.jsonl", 300)
    common = ["--no-baselines", "--benchmark", f"rewardbench={rb}", "--file", str(pairs)]

    default = _eval(tmp_path / "default", *common)
    assert _sizes(default) == {"rewardbench": (300, None), "pairs": (256, 256)}
    assert default["config"]["limit"] == 256 and default["config"]["limit_explicit"] is False
    md = (tmp_path / "default" / "report.md").read_text()
    assert "examples per task: 256 (seed 0), except rewardbench: scored whole" in md

    # --limit 256 is the default's number, but asked for: it caps RewardBench too.
    explicit = _eval(tmp_path / "explicit", *common, "--limit", "256")
    assert _sizes(explicit) == {"rewardbench": (256, 256), "pairs": (256, 256)}
    assert explicit["config"]["limit_explicit"] is True

    full = _eval(tmp_path / "full", *common, "--full")
    assert _sizes(full) == {"rewardbench": (300, None), "pairs": (300, None)}


@pytest.mark.parametrize(
    ("scored_whole", "limit", "full", "cap"),
    [
        (False, None, False, DEFAULT_LIMIT),
        (True, None, False, None),
        (False, 256, False, 256),
        (True, 256, False, 256),
        (True, 10, False, 10),
        (False, 10, True, None),
        (True, None, True, None),
    ],
)
def test_rows_per_subset(scored_whole, limit, full, cap):
    bench = Benchmark("b", "d", TaskType.PAIRWISE, None, "accuracy", scored_whole=scored_whole)
    assert bench.rows_per_subset(limit, full) == cap


def test_rewardbench_declares_its_aggregation():
    b = get_benchmark(f"rewardbench={FIXTURE}")
    assert b.aggregate is rewardbench.score and b.sections == rewardbench.SECTIONS and b.scored_whole
    assert b.group is None  # its weighted score is never averaged into a suite mean
    assert get_benchmark("rewardbench").scored_whole  # the hub copy too


def test_a_missing_rewardbench_file_is_named(tmp_path, capsys):
    rc = main(["eval", "--rater", "length", "--benchmark", f"rewardbench={tmp_path / 'nope.jsonl'}"] + [
        "--out", str(tmp_path / "eval")
    ])  # fmt: skip
    assert rc != 0
    assert "no such RewardBench file" in capsys.readouterr().err


# --------------------------------------------------------------- the harness stays benchmark-blind

EVALUATE = Path(__file__).parents[2] / "flame" / "evaluate"
BENCHMARK_SPECIFIC = {"rewardbench", *(s.name for s in rewardbench.SECTIONS)}


def _code_strings(tree: ast.AST) -> set[str]:
    """String constants in code, docstrings left out."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    }


@pytest.mark.parametrize("path", sorted(EVALUATE.glob("*.py")), ids=lambda p: p.name)
def test_evaluate_never_names_a_benchmark(path):
    tree = ast.parse(path.read_text())
    assert not _code_strings(tree) & BENCHMARK_SPECIFIC
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in modules if m and ("rewardbench" in m or "aggrefact" in m)}
