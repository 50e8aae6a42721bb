"""The training stream's position augmentation (data.swap_pairs): twins, sizes and resumption."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from flame.train.data import BatchStream, TrainingData
from flame.types import Example, TaskType


@dataclass
class Encoded:
    example: Example
    n_tokens: int
    weight: float = 1.0


def pair(i: int, answer: str) -> Example:
    return Example(
        task="file:pairs",
        task_type=TaskType.PAIRWISE,
        title="t",
        description="d",
        inputs={"prompt": f"p{i}", "response A": f"a{i}" * (i % 5 + 1), "response B": f"b{i}"},
        targets={"answer": answer},
        labels=("A", "B"),
        output_fields=("answer",),
    )


def point(i: int) -> Example:
    return Example(
        task="file:points",
        task_type=TaskType.CLASSIFICATION,
        title="t",
        description="d",
        inputs={"text": f"x{i}"},
        targets={"answer": "Yes"},
        labels=("Yes", "No"),
        output_fields=("answer",),
    )


def data() -> TrainingData:
    pairs = [pair(i, "AB"[i % 2]) for i in range(40)]
    points = [point(i) for i in range(40)]
    return TrainingData(
        rates={"file:pairs": 0.5, "file:points": 0.5},
        sizes={"file:pairs": 40, "file:points": 40},
        file_examples={"file:pairs": pairs, "file:points": points},
    )


def encode(ex: Example) -> Encoded:
    return Encoded(ex, n_tokens=sum(len(v) for v in ex.inputs.values()))


def stream(state=None, swap=True) -> BatchStream:
    return BatchStream(data(), encode, batch_size=4, bucket_batches=4, seed=3, state=state, swap_pairs=swap)


def test_every_pair_is_trained_next_to_its_swapped_twin():
    s = stream()
    batches = [s.next_batch() for _ in range(4)]  # one pool
    assert all(len(b) == 4 for b in batches)
    pool = [e.example for b in batches for e in b]
    pairs = [e for e in pool if e.task_type == TaskType.PAIRWISE]
    keys = {(e.inputs["response A"], e.inputs["response B"], e.targets["answer"]) for e in pairs}
    twins = sum((b, a, {"A": "B", "B": "A"}[y]) in keys for a, b, y in keys)
    # At most one twin is cut at the pool's end; every other pair has its twin, label flipped.
    assert twins >= len(keys) - 1 and len(pairs) >= 4


def test_without_swap_pairs_no_example_is_repeated_with_flipped_order():
    s = stream(swap=False)
    pool = [e.example for _ in range(4) for e in s.next_batch()]
    responses = [(e.inputs["response A"], e.inputs["response B"]) for e in pool if "response A" in e.inputs]
    assert not any((b, a) in responses for a, b in responses)


def test_resumed_stream_sees_the_same_batches():
    a = stream()
    first = [a.next_batch() for _ in range(6)]
    b = stream(state=a.state.to_dict())
    c = stream()
    for _ in range(6):
        c.next_batch()
    later_b = [[e.example for e in b.next_batch()] for _ in range(5)]
    later_c = [[e.example for e in c.next_batch()] for _ in range(5)]
    assert later_b == later_c
    assert first  # the first six batches were drawn before the state was taken


def test_inverse_frequency_weights_give_each_label_equal_total_weight():
    from flame.train.data import inverse_frequency_weights

    labels = ["No"] * 75 + ["Yes"] * 25
    w = inverse_frequency_weights(labels, cap=5.0)
    assert w == {"No": 100 / (2 * 75), "Yes": 100 / (2 * 25)}
    assert sum(w[lab] for lab in labels) / len(labels) == pytest.approx(1.0)  # mean weight 1
    assert 75 * w["No"] == 25 * w["Yes"]
    assert inverse_frequency_weights(["No"] * 99 + ["Yes"], cap=5.0)["Yes"] == 5.0  # capped
    assert inverse_frequency_weights(["Yes"] * 3, cap=5.0) == {"Yes": 1.0}


def test_stream_carries_each_examples_label_weight():
    d = data()
    d.label_weights = {"file:points": {"Yes": 2.5}}
    s = BatchStream(d, encode, batch_size=4, bucket_batches=2, seed=0)
    seen = [(e.example.task, e.weight) for _ in range(4) for e in s.next_batch()]
    assert {w for t, w in seen if t == "file:points"} == {2.5}
    assert {w for t, w in seen if t == "file:pairs"} == {1.0}
