"""Juries: the `jury:` spec, how members' probabilities combine, per-member caching, swap and the API."""

from __future__ import annotations

import json

import pytest
from rater_examples import pair, point

import flame
from flame.raters import RaterError, load_rater
from flame.raters.base import BaseRater
from flame.raters.cache import JudgmentCache, rater_key
from flame.raters.jury import JuryRater, majority_probs, mean_probs, parse_members
from flame.raters.runner import rate
from flame.types import Judgment

# length: A is longer in p0 and p1, B in p2, equal in p3. random (seed 0) draws its own labels.
PAIRS = [pair(0, "aaaa", "b"), pair(1, "aaa", "bb"), pair(2, "a", "bbbb", "B"), pair(3, "ab", "cd")]


# ----------------------------------------------------------------------------------- spec parser


def test_members_split_on_bars_and_keep_colons_and_commas():
    members, combine = parse_members("hf:./a,b|openai:m@http://h:1/v1| length")
    assert [m.spec for m in members] == ["hf:./a,b", "openai:m@http://h:1/v1", "length"]
    assert all(m.weight == 1.0 for m in members) and combine is None


def test_members_file_with_weights_and_combine(tmp_path):
    f = tmp_path / "members.yaml"
    f.write_text("- length\n- {spec: random, weight: 3}\n")
    members, combine = parse_members(f"@{f}")
    assert [(m.spec, m.weight) for m in members] == [("length", 1.0), ("random", 3.0)]
    f.write_text("combine: majority\nmembers: [length, random]\n")
    jury = load_rater(f"jury:@{f}")
    assert jury.combine == "majority" and [m.spec for m in jury.members] == ["length", "random"]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("jury:length|lenght", "jury member 'lenght': unknown rater spec 'lenght' (did you mean length?)"),
        ("jury:length|openai:gpt", "jury member 'openai:gpt'"),
        ("jury:length", "needs at least two members"),
        ("jury:length||random", "empty member"),
        ("jury:length|jury:random", "a jury cannot be a member"),
        ("jury:@/no/such/members.yaml", "does not exist"),
    ],
)
def test_bad_jury_specs_give_one_line(spec, needle):
    with pytest.raises(RaterError) as err:
        load_rater(spec)
    assert needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text", ["- length\n- {spec: random, weight: 0}\n", "- length\n- {spec: random, wieght: 2}\n", "a: 1\n"]
)
def test_bad_members_files(tmp_path, text):
    f = tmp_path / "m.yaml"
    f.write_text(text)
    with pytest.raises(RaterError):
        load_rater(f"jury:@{f}")


def test_unknown_combine_rule():
    with pytest.raises(RaterError, match="combine must be one of mean, majority"):
        load_rater("jury:length|random", combine="median")


# ------------------------------------------------------------------------------------- combining


def test_mean_and_majority_rules_by_hand():
    probs = [{"A": 0.9, "B": 0.1}, {"A": 0.3, "B": 0.7}, {"A": 0.4, "B": 0.6}]
    assert mean_probs("AB", probs, [1, 1, 1]) == pytest.approx({"A": 1.6 / 3, "B": 1.4 / 3})
    assert mean_probs("AB", probs, [2, 1, 1]) == pytest.approx({"A": 2.5 / 4, "B": 1.5 / 4})
    assert majority_probs("AB", probs, [1, 1, 1]) == pytest.approx({"A": 1 / 3, "B": 2 / 3})
    assert majority_probs("AB", probs, [3, 1, 1]) == pytest.approx({"A": 0.6, "B": 0.4})
    # A member tied between A and B splits its vote; two members disagreeing tie exactly.
    assert majority_probs("AB", [{"A": 0.5, "B": 0.5}, {"A": 1.0, "B": 0.0}], [1, 1]) == {
        "A": 0.75,
        "B": 0.25,
    }
    assert majority_probs("AB", [{"A": 0.2, "B": 0.8}, {"A": 1.0, "B": 0.0}], [1, 1]) == {"A": 0.5, "B": 0.5}


def _members(js):
    return [(m["spec"], m["prediction"]) for m in js.metadata["members"]]


def test_jury_of_length_and_random_means_their_probabilities(tmp_path):
    jury = load_rater("jury:length|random", cache=tmp_path / "c.sqlite")
    alone_l, alone_r = load_rater("length").judge(PAIRS), load_rater("random").judge(PAIRS)
    for j, jl, jr in zip(jury.judge(PAIRS), alone_l, alone_r, strict=True):
        assert j.probs == pytest.approx({k: (jl.probs[k] + jr.probs[k]) / 2 for k in "AB"})
        assert _members(j) == [("length", jl.prediction), ("random", jr.prediction)]
        assert j.metadata["combine"] == "mean"


def test_weights_and_majority(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("- {spec: length, weight: 3}\n- random\n")
    alone_l, alone_r = load_rater("length").judge(PAIRS), load_rater("random").judge(PAIRS)
    weighted = load_rater(f"jury:@{f}", cache=False).judge(PAIRS)
    majority = load_rater("jury:length|random", combine="majority", cache=False).judge(PAIRS)
    for jw, jm, jl, jr in zip(weighted, majority, alone_l, alone_r, strict=True):
        assert jw.probs == pytest.approx({k: (3 * jl.probs[k] + jr.probs[k]) / 4 for k in "AB"})
        assert [m["weight"] for m in jw.metadata["members"]] == [3.0, 1.0]
        votes = {k: 0.0 for k in "AB"}
        for member in (jl, jr):
            tops = [k for k in "AB" if member.probs[k] == max(member.probs.values())]
            for k in tops:
                votes[k] += 0.5 / len(tops)
        assert jm.probs == pytest.approx(votes)
    # A disagreeing pair of equal weight is an exact tie, broken by the seed and recorded.
    split = [
        jm
        for jm, jl, jr in zip(majority, alone_l, alone_r, strict=True)
        if jl.prediction != jr.prediction and "tied_labels" not in jl.metadata
    ]
    assert split
    assert all(j.probs["A"] == 0.5 and j.metadata["tied_labels"] == ["A", "B"] for j in split)


def test_pointwise_jury_has_an_expected_score():
    js = load_rater("jury:length|fake", cache=False).judge([point(0, "x" * 1500)])
    assert js[0].expected_score == pytest.approx(sum(int(k) * p for k, p in js[0].probs.items()))
    assert all("expected_score" in m for m in js[0].metadata["members"])


# ------------------------------------------------------------------------------------- caching


def test_members_are_cached_under_their_own_identity(tmp_path):
    cache = tmp_path / "c.sqlite"
    first = load_rater("jury:length|random")
    r1 = rate(PAIRS, first, cache=cache, progress=False)
    assert r1.n_judged == 4 and [m.n_judged for m in first.members] == [4, 4]

    # Rated again: the jury's own entries answer; nothing is judged.
    again = load_rater("jury:length|random")
    r2 = rate(PAIRS, again, cache=cache, progress=False)
    assert r2.n_judged == 0 and [m.n_judged for m in again.members] == [0, 0]
    assert [j.probs for j in r2.judgments] == [j.probs for j in r1.judgments]

    # A member rated alone reuses what it judged in the jury.
    length = load_rater("length")
    assert rate(PAIRS, length, cache=cache, progress=False).n_judged == 0 and length.n_judged == 0

    # With the jury's entries gone, the jury is rebuilt from its members' entries without judging.
    db = JudgmentCache(cache)
    db.clear(rater_key(again.cache_identity()))
    db.close()
    third = load_rater("jury:length|random")
    assert rate(PAIRS, third, cache=cache, progress=False).n_judged == 4
    assert [m.n_judged for m in third.members] == [0, 0]


def test_a_member_rated_first_is_reused_by_the_jury(tmp_path):
    cache = tmp_path / "c.sqlite"
    rate(PAIRS, load_rater("random"), cache=cache, progress=False)
    jury = load_rater("jury:length|random")
    rate(PAIRS, jury, cache=cache, progress=False)
    assert [m.n_judged for m in jury.members] == [4, 0]


def test_identity_lists_members_weights_and_rule(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("- length\n- random\n")
    inline, from_file = load_rater("jury:length|random"), load_rater(f"jury:@{f}")
    # The same members spelled two ways are one jury; another rule, weight or seed is another.
    assert inline.cache_identity() == from_file.cache_identity()
    ident = inline.cache_identity()
    assert ident["spec"] == "jury:length|random (mean)"  # what `flame cache info` shows
    assert [m["identity"]["spec"] for m in ident["members"]] == ["length", "random"]
    assert [m["weight"] for m in ident["members"]] == [1.0, 1.0] and ident["combine"] == "mean"
    majority = load_rater("jury:length|random", combine="majority")
    f.write_text("- length\n- {spec: random, weight: 2}\n")
    assert load_rater(f"jury:@{f}").cache_identity()["spec"] == "jury:length|random (mean; weights 1, 2)"
    keys = {rater_key(r.cache_identity()) for r in (inline, majority, load_rater(f"jury:@{f}"))}
    assert len(keys) == 3
    assert rater_key(inline.cache_identity()) != rater_key(
        load_rater("jury:length|random", seed=1).cache_identity()
    )


# -------------------------------------------------------------------------------- swap and the API


def test_swap_is_each_members_own(tmp_path):
    jury = load_rater("jury:length|fake", swap=True, cache=False)
    assert all(m.swap for m in jury.members)
    assert all(m["identity"]["options"]["swap"] for m in jury.cache_identity()["members"])
    (j,) = jury.judge([PAIRS[0]])
    fake = load_rater("fake", swap=True).judge([PAIRS[0]])[0]
    assert j.probs == pytest.approx({k: (1.0 * (k == "A") + fake.probs[k]) / 2 for k in "AB"})
    # Both presentation orders of the jury, for position consistency.
    assert set(j.metadata["orders"]) == {"AB", "BA"} and j.metadata["swap"] is True
    assert [m.n_judged for m in jury.members] == [2, 2]


def test_python_api_compare_score_classify():
    jury = flame.load_rater("jury:length|fake", cache=False)
    j = jury.compare("Say hi.", "hello there", "hi")
    assert j.prediction in ("A", "B") and sum(j.probs.values()) == pytest.approx(1.0)
    assert len(j.metadata["members"]) == 2
    assert 1 <= jury.score("Explain rain.", "Water falls.", scale=(1, 5)).expected_score <= 5
    c = jury.classify({"text": "great"}, ["pos", "neg"], "Is the text positive?")
    assert c.prediction in ("pos", "neg")


def test_cli_rate_with_a_jury(tmp_path, capsys):
    from flame.raters.cli import add_rate_parser

    rows = tmp_path / "pairs.jsonl"
    rows.write_text(
        "".join(
            json.dumps(
                {
                    "id": ex.id,
                    "prompt": ex.inputs["prompt"],
                    "response_a": ex.inputs["response A"],
                    "response_b": ex.inputs["response B"],
                    "label": ex.answer,
                }
            )
            + "\n"
            for ex in PAIRS
        )
    )
    import argparse

    parser = argparse.ArgumentParser()
    add_rate_parser(parser.add_subparsers())
    out = tmp_path / "out.jsonl"
    args = parser.parse_args(
        [
            "rate",
            "--rater",
            "jury:length|random",
            "--input",
            str(rows),
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "c.sqlite"),
            "--no-progress",
        ]
    )
    assert args.func(args) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["p0", "p1", "p2", "p3"]
    assert [m["spec"] for m in lines[0]["members"]] == ["length", "random"]
    assert "accuracy" in capsys.readouterr().out


def test_jury_serves(tmp_path):
    from fastapi.testclient import TestClient

    from flame.serve.app import Settings, create_app

    cache = tmp_path / "c.sqlite"
    app = create_app(load_rater("jury:length|random"), Settings(cache=str(cache), batch_wait_ms=0.0))
    item = {"type": "pairwise", "prompt": "Say hi.", "response_a": "hello there", "response_b": "hi"}
    with TestClient(app) as client:
        r = client.post("/v1/judge", json=item)
        assert r.status_code == 200, r.text
        assert r.json()["prediction"] == "A" or r.json()["probs"]["A"] == 0.5
    # The service's cache file holds the jury's judgment and each member's, under their own identities.
    db = JudgmentCache(cache)
    members = [rater_key(load_rater(spec).cache_identity()) for spec in ("length", "random")]
    assert [db.stats(k)["judgments"] for k in members] == [1, 1] and db.stats()["judgments"] == 3
    db.close()


class Explaining(BaseRater):
    """Answers A with an explanation field."""

    spec = "explaining"

    def _judge_batch(self, examples):
        return [
            Judgment(
                fields={"answer": "A", "explanation": "A is longer"}, probs={"A": 1.0, "B": 0.0}, raw="A"
            )
            for _ in examples
        ]


def test_the_heaviest_member_with_the_jurys_answer_explains_it():
    jury = JuryRater([(load_rater("length"), 1.0), (Explaining(), 2.0)], cache=False)
    agree, disagree = jury.judge([PAIRS[0], PAIRS[2]])  # length says A on p0, B on p2
    assert agree.prediction == "A" and agree.fields["explanation"] == "A is longer"
    assert disagree.prediction == "A" and disagree.probs == pytest.approx({"A": 2 / 3, "B": 1 / 3})
    majority = JuryRater([(load_rater("length"), 1.0), (Explaining(), 1.0)], combine="majority", cache=False)
    (j,) = majority.judge([PAIRS[2]])
    assert j.probs == {"A": 0.5, "B": 0.5}
    assert ("explanation" in j.fields) == (j.prediction == "A")  # only the member that said A explains


def test_the_shipped_jury_config_parses():
    from pathlib import Path

    from flame.raters.jury import parse_members

    members, combine = parse_members("@" + str(Path(__file__).parents[2] / "configs" / "jury.yaml"))
    assert [m.spec for m in members] == ["smollm2", "run:out/demo/runs/flame_mini"] and combine == "mean"
