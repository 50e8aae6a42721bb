"""Arena ratings (issue 18.3): the Bradley–Terry fit against simulated truths, win rates by hand, and
`flame arena` end to end with the length rater (missing systems reported, a rerun judged from the cache)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from flame.cliargs import RangedType
from flame.errors import run_command
from flame.evaluate import bradley_terry as bt
from flame.evaluate.arena import (
    ArenaRow,
    add_arena_parser,
    build_pairs,
    load_rows,
    points,
    standings,
    verdict,
)
from flame.types import Judgment

# ------------------------------------------------------------------------------- the fit


def test_fit_recovers_known_strengths_from_simulated_verdicts():
    truth = np.array([-1.5, -0.8, -0.2, 0.0, 0.4, 0.9, 1.2])
    truth -= truth.mean()
    v = bt.simulate(truth, n_groups=400, seed=7)  # 400 prompts x 21 pairs
    wins, games = bt.win_counts(v, len(truth))
    theta = bt.fit(wins, games)
    # Tolerances: with ~8,400 games the standard error of each strength is about 0.05 logits, so 0.15
    # is three of them; the order must be exact (adjacent truths differ by at least 0.2, four SEs).
    assert np.max(np.abs(theta - truth)) < 0.15
    assert spearmanr(theta, truth).statistic == pytest.approx(1.0)
    assert theta.mean() == pytest.approx(0.0, abs=1e-9)


def test_bootstrap_intervals_are_seeded_and_cover_the_truth():
    truth = np.array([-1.0, 0.0, 1.0])
    v = bt.simulate(truth, n_groups=60, seed=3)
    a = bt.bootstrap_fit(v, 3, n_resamples=60, seed=1)
    b = bt.bootstrap_fit(v, 3, n_resamples=60, seed=1)
    assert np.array_equal(a.low, b.low) and np.array_equal(a.high, b.high)
    assert np.all(a.low <= a.theta) and np.all(a.theta <= a.high) and a.n_failed == 0
    # Coverage over 20 simulated arenas (60 intervals): nominally 95%; a percentile bootstrap on 60 prompts
    # runs a little under, so 80% is the bar (a broken resampling, e.g. of verdicts, not prompts, or an
    # interval around the wrong centre, falls far below it).
    covered = []
    for s in range(20):
        f = bt.bootstrap_fit(bt.simulate(truth, n_groups=60, seed=100 + s), 3, n_resamples=60, seed=s)
        covered += list((f.low < truth) & (truth < f.high))
    assert np.mean(covered) >= 0.8


def test_sampled_pairs_per_prompt_still_recover_the_order():
    truth = np.linspace(-1.5, 1.5, 8)
    v = bt.simulate(truth, n_groups=600, pairs_per_group=4, seed=11)  # 4 of 28 pairs per prompt
    wins, games = bt.win_counts(v, 8)
    theta = bt.fit(wins, games)
    assert spearmanr(theta, truth).statistic > 0.95
    assert np.max(np.abs(theta - truth)) < 0.3


def test_a_system_that_never_wins_gets_a_finite_strength():
    v = bt.Verdicts.from_rows([(0, 1, 1.0, 0), (0, 1, 1.0, 1), (1, 2, 0.5, 2)])
    theta = bt.fit(*bt.win_counts(v, 3))
    assert np.all(np.isfinite(theta)) and theta[0] > theta[2] > theta[1]


def test_win_rates_and_matrix_count_ties_as_half():
    # Games: X beats Y, X ties Y, Y beats Z, X loses to Z.
    v = bt.Verdicts.from_rows([(0, 1, 1.0, 0), (0, 1, 0.5, 1), (1, 2, 1.0, 0), (0, 2, 0.0, 1)])
    wins, games = bt.win_counts(v, 3)
    # X: 1 + 0.5 + 0 of 3; Y: 0 + 0.5 + 1 of 3; Z: 0 + 1 of 2.
    assert bt.win_rates(wins, games) == pytest.approx([1.5 / 3, 1.5 / 3, 1 / 2])
    m = bt.win_matrix(wins, games)
    assert m[0, 1] == pytest.approx(0.75) and m[1, 0] == pytest.approx(0.25)
    assert m[1, 2] == 1.0 and m[2, 0] == 1.0 and np.isnan(m[0, 0])


@pytest.mark.parametrize(
    "probs, p_a, outcome",
    [
        ({"A": 0.8, "B": 0.2}, 0.8, 1.0),
        ({"A": 0.5, "B": 0.5}, 0.5, 0.5),
        ({"A": 0.1, "B": 0.3}, 0.25, 0.0),  # renormalized over A and B
        ({"A": 0.0, "B": 0.0}, None, None),
        (None, None, None),
    ],
)
def test_a_pairs_verdict_is_its_p_a_and_ties_count_half(probs, p_a, outcome):
    j = Judgment(fields={"answer": "A"}, probs=probs)
    got = verdict(j)
    assert got == (pytest.approx(p_a) if p_a is not None else None)
    if got is not None:
        assert points(got) == outcome
        assert points(got, "probability") == pytest.approx(p_a)


def test_a_disconnected_arena_is_refused():
    from flame.errors import FlameError

    v = bt.Verdicts.from_rows([(0, 1, 1.0, 0), (2, 3, 1.0, 1)])
    with pytest.raises(FlameError, match="do not connect"):
        standings(["a", "b", "c", "d"], v, n_resamples=10)


# ------------------------------------------------------------------------------- pairs


def _row(rid, systems):
    return ArenaRow(rid, 1, "p", {s: f"text of {s}" for s in systems})


def test_round_robin_and_seeded_sampling_of_pairs():
    systems = ["s1", "s2", "s3", "s4", "s5"]
    rows = [_row(str(k), systems) for k in range(6)]
    assert len(build_pairs(rows, systems)) == 6 * 10
    a = build_pairs(rows, systems, max_pairs_per_prompt=3, seed=5)
    b = build_pairs(rows, systems, max_pairs_per_prompt=3, seed=5)
    c = build_pairs(rows, systems, max_pairs_per_prompt=3, seed=6)
    assert [p.example.id for p in a] == [p.example.id for p in b]
    assert [p.example.id for p in a] != [p.example.id for p in c]
    assert len(a) == 6 * 3
    # A row's sample depends on its own id only: adding rows keeps the others' pairs (and their cache).
    more = build_pairs([*rows, _row("extra", systems)], systems, max_pairs_per_prompt=3, seed=5)
    assert [p.example.id for p in more][: len(a)] == [p.example.id for p in a]


def test_reference_travels_in_metadata():
    row = ArenaRow("r", 1, "p", {"x": "a", "y": "b"}, reference="gold")
    (pair,) = build_pairs([row], ["x", "y"])
    assert pair.example.metadata["reference"] == "gold"
    assert "gold" not in json.dumps(pair.example.inputs)


# ------------------------------------------------------------------------------- CLI


def _parser():
    parser = argparse.ArgumentParser(prog="flame")
    add_arena_parser(parser.add_subparsers(dest="command"))
    return parser


def _main(argv):
    args = _parser().parse_args(argv)
    return run_command(args.func, args)


def test_every_numeric_flag_declares_a_range():
    (sub,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for action in sub.choices["arena"]._actions:
        numeric = isinstance(action.default, int | float) and not isinstance(action.default, bool)
        if action.type in (int, float) or (action.type is None and action.nargs != 0 and numeric):
            raise AssertionError(f"{action.option_strings} has no RangedType")
    assert any(isinstance(a.type, RangedType) for a in sub.choices["arena"]._actions)


def _write_outputs(path):
    # "long" always answers longest, "mid" in between, "short" shortest; row 3 lacks "mid"; line 4 is broken.
    rows = [
        {
            "id": "q1",
            "prompt": "Say hi",
            "responses": {"short": "hi", "mid": "hi there", "long": "hi there!!!"},
        },
        {
            "id": "q2",
            "messages": [{"role": "user", "content": "Count"}],
            "responses": {"long": "one two three", "short": "one", "mid": "one two"},
            "reference": "1 2 3",
        },
        {"id": "q3", "prompt": "Name a color", "responses": {"long": "a deep blue", "short": "red"}},
    ]
    lines = [json.dumps(r) for r in rows] + [
        "{not json",
        json.dumps({"id": "q5", "prompt": "x", "responses": {"short": "y"}}),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_ranks_the_longer_system_first_and_reruns_from_the_cache(tmp_path, capsys):
    src = _write_outputs(tmp_path / "outputs.jsonl")
    argv = ["arena", "--rater", "length", "--input", str(src), "--out", str(tmp_path / "out")]
    argv += ["--cache", str(tmp_path / "c.sqlite"), "--resamples", "50", "--quiet"]
    assert _main(argv) == 0
    err = capsys.readouterr().err
    doc = json.loads((tmp_path / "out" / "arena.json").read_text())
    assert [s["system"] for s in doc["systems"]] == ["long", "mid", "short"]
    by = {s["system"]: s for s in doc["systems"]}
    # long beats both in every prompt; mid beats short in q1, q2; short never wins.
    assert by["long"]["win_rate"] == 1.0 and by["short"]["win_rate"] == 0.0
    assert by["mid"]["win_rate"] == pytest.approx(0.5)
    assert doc["win_matrix"]["long"]["short"] == 1.0
    assert doc["n_pairs"] == 3 + 3 + 1 and doc["n_judged"] == 7 and doc["n_cached"] == 0
    # The row lacking "mid" and the broken line are reported with their lines, the good rows kept.
    assert f"{src}:3: id 'q3' lacks mid" in err
    assert f"{src}:4: bad JSON" in err
    assert f"{src}:5: id 'q5' lacks mid, long; fewer than two systems, so no pairs" in err
    assert any(":3: id 'q3' lacks mid" in p for p in doc["problems"])
    md = (tmp_path / "out" / "arena.md").read_text()
    assert "| 1 | long |" in md and "lacks mid" in md
    assert (tmp_path / "out" / "arena.png").stat().st_size > 0
    pairs = [json.loads(x) for x in (tmp_path / "out" / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == 7 and {p["points_a"] for p in pairs} <= {0.0, 1.0}

    assert _main(argv) == 0  # the same command again: every pair comes from the cache
    again = json.loads((tmp_path / "out" / "arena.json").read_text())
    assert again["n_judged"] == 0 and again["n_cached"] == 7
    assert again["systems"] == doc["systems"]


def test_a_killed_arena_resumes_from_the_committed_batches(tmp_path):
    from flame.evaluate.arena import run_arena
    from flame.raters.baselines import LengthRater

    class DiesOnThirdBatch(LengthRater):
        calls = 0

        def _judge_batch(self, examples):
            type(self).calls += 1
            if type(self).calls == 3:
                raise KeyboardInterrupt  # a kill between two committed batches
            return super()._judge_batch(examples)

    src = _write_outputs(tmp_path / "outputs.jsonl")
    kw = {"cache": tmp_path / "c.sqlite", "n_resamples": 10, "batch_size": 2, "progress": False}
    with pytest.raises(KeyboardInterrupt):
        run_arena(DiesOnThirdBatch(swap=True), src, tmp_path / "out", **kw)
    result = run_arena(LengthRater(swap=True), src, tmp_path / "out", **kw)  # same identity: spec "length"
    assert result.summary["n_cached"] == 4 and result.summary["n_judged"] == 3  # 2 batches of 2 were kept


def test_cli_input_errors_are_one_line(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert _main(["arena", "--rater", "length", "--input", str(tmp_path / "none.jsonl"), "--out", out]) == 2
    assert "none.jsonl" in capsys.readouterr().err
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"prompt": "x", "responses": {"only": "y"}}) + "\n")
    assert _main(["arena", "--rater", "length", "--input", str(one), "--out", out, "--quiet"]) == 2
    assert "needs two" in capsys.readouterr().err.splitlines()[-1]


def test_load_rows_keeps_good_rows_and_reports_bad_ones(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": 1, "prompt": "p", "responses": {"a": "x", "b": "y"}}),
                json.dumps({"id": 1, "prompt": "p", "responses": {"a": "x", "b": "y"}}),
                json.dumps({"prompt": "p", "messages": [], "responses": {"a": "x"}}),
                json.dumps({"prompt": "p", "responses": {"a": 3}}),
            ]
        )
    )
    rows, problems = load_rows(path)
    assert [r.id for r in rows] == ["1"]
    assert problems == [
        f"{path}:2: id '1' repeats line 1",
        f"{path}:3: both 'prompt' and 'messages': give one",
        f"{path}:4: response of 'a' is int, not text",
    ]


# ------------------------------------------------------------------------------- the shipped example


def test_summeval_example_runs_on_three_articles(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    from flame.data.paths import DataRootError, data_root

    try:
        if not (data_root() / "summeval" / "summeval_expert_avg.jsonl.gz").is_file():
            pytest.skip("SummEval is not in the data root")
    except DataRootError as e:  # no data root at all (a fresh clone without ../shared)
        pytest.skip(str(e))
    path = Path(__file__).resolve().parents[2] / "examples" / "summeval_arena.py"
    spec = importlib.util.spec_from_file_location("summeval_arena", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--rater", "length", "--out", str(tmp_path), "--articles", "3", "--resamples", "20"]
    assert module.main([*argv, "--cache", str(tmp_path / "c.sqlite"), "--max-pairs-per-prompt", "30"]) == 0
    doc = json.loads((tmp_path / "summeval_tau.json").read_text())
    assert len(doc["systems"]) == 16 and doc["arena"]["n_pairs"] == 3 * 30
    assert -1 <= doc["kendall_tau"]["tau"] <= 1
    assert "Kendall tau" in (tmp_path / "summeval_tau.md").read_text()
