"""Spec strings, the baseline raters, swap, and the embedding API."""

from __future__ import annotations

import pytest
from rater_examples import nli, pair, point

import flame
from flame.raters import RaterError, load_rater, parse_spec
from flame.raters.base import combine_orders, swap_example
from flame.types import Judgment


@pytest.mark.parametrize("spec", ["nope", "hf", "openai:", "length:3", "smolm2", "openai:gpt-4o"])
def test_bad_specs_list_the_valid_forms(spec):
    with pytest.raises(RaterError) as err:
        load_rater(spec)
    text = str(err.value)
    for form in ("smollm2", "hf:PATH_OR_HUB_ID", "run:RUN_DIR", "openai:MODEL@BASE_URL", "length", "random"):
        assert form in text


def test_parse_spec_keeps_the_argument():
    form, arg = parse_spec("openai:my-model@http://127.0.0.1:9/v1")
    assert form.name == "openai" and arg == "my-model@http://127.0.0.1:9/v1"
    assert parse_spec("hf:./some/dir")[1] == "./some/dir"


def test_unknown_spec_suggests_close_match():
    with pytest.raises(RaterError, match="did you mean smollm2"):
        load_rater("smollm")


def test_length_rater_pairwise():
    r = load_rater("length")
    longer_a, longer_b, equal = r.judge([pair(0, "aaaa", "bb"), pair(1, "a", "bbb"), pair(2, "xy", "zw")])
    assert longer_a.prediction == "A" and longer_a.probs == {"A": 1.0, "B": 0.0}
    assert longer_b.prediction == "B"
    assert equal.probs == {"A": 0.5, "B": 0.5} and equal.metadata["tied_labels"] == ["A", "B"]
    # An empty response is judged (a legitimate bad response), not rejected.
    assert r.judge([pair(3, "", "x")])[0].prediction == "B"


def test_length_pointwise_is_monotone_and_classification_uniform():
    r = load_rater("length")
    short, long = r.judge([point(0, "ok"), point(1, "x" * 5000)])
    assert short.prediction == "1" and long.prediction == "5" and long.expected_score == 5.0
    cls = r.judge([nli(0, "p", "h")])[0]
    assert cls.probs == pytest.approx({"entailment": 1 / 3, "neutral": 1 / 3, "contradiction": 1 / 3})


def test_random_rater_is_seeded_and_order_free():
    exs = [pair(i, f"a{i}", f"b{i}") for i in range(40)]
    first = [j.prediction for j in load_rater("random", seed=1).judge(exs)]
    again = [j.prediction for j in load_rater("random", seed=1).judge(exs[::-1])][::-1]
    other = [j.prediction for j in load_rater("random", seed=2).judge(exs)]
    assert first == again and first != other
    assert 5 < first.count("A") < 35


def test_fake_rater_probabilities_sum_to_one():
    for j in load_rater("fake").judge([pair(0, "a", "b", tie=True), point(0, "r"), nli(0, "p", "h")]):
        assert sum(j.probs.values()) == pytest.approx(1.0)


def test_swap_example_exchanges_responses_and_label():
    ex = pair(0, "first", "second", label="A")
    sw = swap_example(ex)
    assert sw.inputs == {"prompt": "Say hi.", "response A": "second", "response B": "first"}
    assert sw.answer == "B" and list(sw.inputs) == list(ex.inputs)
    assert swap_example(pair(1, "x", "y", label="tie", tie=True)).answer == "tie"


def test_combine_orders_averages_p_a_and_records_both():
    ex = pair(0, "a", "b")
    ab = Judgment(fields={"answer": "A"}, probs={"A": 0.8, "B": 0.2})
    ba = Judgment(fields={"answer": "A"}, probs={"A": 0.6, "B": 0.4})  # in BA order, "A" is the original B
    j = combine_orders(ex, ab, ba, seed=0)
    assert j.probs == pytest.approx({"A": (0.8 + 0.4) / 2, "B": (0.2 + 0.6) / 2})
    assert j.metadata["orders"]["BA"]["prediction"] == "B"
    assert j.metadata["orders"]["AB"]["prediction"] == "A"


def test_swap_removes_position_bias_of_length_rater():
    r = load_rater("length", swap=True)
    j = r.judge([pair(0, "long answer", "short")])[0]
    assert j.prediction == "A" and j.probs["A"] == 1.0 and r.n_judged == 2


def test_python_api():
    r = flame.load_rater("length")
    c = r.compare("Say hi.", "Hello there, friend!", "Hi")
    assert c.prediction == "A" and c.probs["A"] == 1.0
    s = r.score("Explain rain.", "Water falls." * 200, scale=(1, 5))
    assert s.prediction == "5" and s.expected_score == 5.0
    k = r.classify({"premise": "p", "hypothesis": "h"}, ["yes", "no"], "Does p entail h?")
    assert set(k.probs) == {"yes", "no"}
    assert len(r.judge([pair(0, "a", "bb"), pair(1, "aa", "b")])) == 2
