"""Issue 15, one way in: the same judgment asked through the Python API, a benchmark-file row, a /v1/judge item,
a rerank candidate or a RewardBench row renders to the same text, has the same cache key and gets the same
probabilities (with the deterministic `fake` rater, whose probabilities are a hash of the rendered input)."""

from __future__ import annotations

import threading

import httpx
import pytest

from flame.benchmarks import rewardbench
from flame.data.files import load_benchmark_file, write_benchmark_file
from flame.evaluate.rerank import Item, pair_example, point_example
from flame.format import render_input
from flame.raters.baselines import FakeRater
from flame.raters.cache import example_key, rater_key
from flame.serve.app import Settings, running_server


class RecordingRater(FakeRater):
    """The fake rater that keeps every Example it was asked to judge."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen: list = []
        self.lock = threading.Lock()

    def _judge_batch(self, examples):
        with self.lock:
            self.seen.extend(examples)
        return super()._judge_batch(examples)


PROMPT, A, B = "What is 2+2?", "4", "5"


def _same(examples, judgments):
    rkey = rater_key(FakeRater().cache_identity())
    texts = {render_input(ex) for ex in examples}
    keys = {example_key(rkey, ex) for ex in examples}
    probs = [j["probs"] if isinstance(j, dict) else j.probs for j in judgments]
    assert len(texts) == 1, texts
    assert len(keys) == 1
    assert all(p == pytest.approx(probs[0], abs=1e-12) for p in probs), probs


@pytest.mark.parametrize("criterion", [None, "Prefer the correct answer."], ids=["default", "criterion"])
@pytest.mark.parametrize("allow_tie", [False, True], ids=["no-tie", "tie"])
def test_a_pair_is_the_same_judgment_on_every_path(tmp_path, criterion, allow_tie):
    rater = RecordingRater()
    api = rater.compare(PROMPT, A, B, criterion=criterion, allow_tie=allow_tie)
    row = {"id": "r1", "prompt": PROMPT, "response_a": A, "response_b": B}
    if criterion:
        row["criterion"] = criterion
    if allow_tie:
        row["label"] = "tie"  # a tie label in the file opens the tie label space
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "pairs.jsonl", [row]))
    assert not loaded.problems
    file_j = rater.judge(loaded.examples)[0]
    item = {"type": "pairwise", "prompt": PROMPT, "response_a": A, "response_b": B, "allow_tie": allow_tie}
    if criterion:
        item["criterion"] = criterion
    with running_server(rater, Settings(cache=False)) as url:
        answer = httpx.post(f"{url}/v1/judge", json=item, timeout=30)
    assert answer.status_code == 200, answer.text
    served = answer.json()
    served = served["results"][0] if "results" in served else served
    assert len(rater.seen) == 3
    _same(rater.seen, [api, file_j, served])


def test_pointwise_and_classification_match_between_api_and_file(tmp_path):
    rater = RecordingRater()
    api_point = rater.score(PROMPT, A, scale=(1, 5))
    api_class = rater.classify({"claim": "The sky is green."}, ["true", "false"], "Is the claim true?")
    rows = [
        {"id": "s", "prompt": PROMPT, "response": A, "scale": [1, 5]},
        {
            "id": "c",
            "fields": {"claim": "The sky is green."},
            "labels": ["true", "false"],
            "instruction": "Is the claim true?",
        },
    ]
    point_file = load_benchmark_file(write_benchmark_file(tmp_path / "p.jsonl", rows[:1])).examples
    class_file = load_benchmark_file(write_benchmark_file(tmp_path / "c.jsonl", rows[1:])).examples
    _same([rater.seen[0], point_file[0]], [api_point, rater.judge(point_file)[0]])
    _same([rater.seen[1], class_file[0]], [api_class, rater.judge(class_file)[0]])


def test_rerank_and_rewardbench_use_the_default_instructions():
    rater = RecordingRater()
    rater.compare(PROMPT, A, B)
    rater.score(PROMPT, A)
    item = Item(id="i", prompt=PROMPT, candidates=[A, B])
    rb = rewardbench.rewardbench_example(
        {"prompt": PROMPT, "chosen": A, "rejected": B, "subset": "hep-cpp"}, "1"
    )
    a, b = (A, B) if rb.answer == "A" else (B, A)
    flipped = rater.compare(PROMPT, a, b)
    assert render_input(pair_example(item, 0, 1)) == render_input(rater.seen[0])
    assert render_input(point_example(item, 0)) == render_input(rater.seen[1])
    assert render_input(rb) == render_input(rater.seen[2])
    assert rater.judge([rb])[0].probs == flipped.probs
