"""Mixtures: rates, nesting, and a sampler that is deterministic under a seed and resumable."""

import pytest

from flame.data.mixtures import (
    Mixture,
    MixtureSampler,
    examples_proportional,
    resolve,
    sampled_proportions,
    temperature,
)
from flame.registry import Registry

SIZES = {"big_v1": 1_000_000, "mid_v1": 30_000, "small_v1": 10_000, "empty_v1": 0}


@pytest.fixture
def mixtures():
    reg: Registry[Mixture] = Registry("mixture")
    reg.add("prop", Mixture("prop", tuple((t, examples_proportional(65536)) for t in SIZES)))
    reg.add("equal", Mixture("equal", (("small_v1", 1), ("mid_v1", 1))))
    reg.add("nested", Mixture("nested", (("equal", 3), ("big_v1", 1))))
    reg.add("loop", Mixture("loop", (("loop", 1),)))
    return reg


def test_examples_proportional_caps_large_tasks(mixtures):
    rates = resolve("prop", SIZES.get, mixtures)
    total = 65536 + 30_000 + 10_000
    assert rates == pytest.approx(
        {"big_v1": 65536 / total, "mid_v1": 30_000 / total, "small_v1": 10_000 / total}
    )
    assert "empty_v1" not in rates


def test_nested_mixture_scales_inner_rates(mixtures):
    assert resolve("nested", SIZES.get, mixtures) == pytest.approx(
        {"small_v1": 0.375, "mid_v1": 0.375, "big_v1": 0.25}
    )


def test_cycle_is_an_error(mixtures):
    with pytest.raises(ValueError, match="cycle"):
        resolve("loop", SIZES.get, mixtures)


def test_temperature_flattens_toward_uniform():
    assert temperature(1.0)(100) == 100
    assert temperature(2.0)(100) == pytest.approx(10)


def test_same_seed_same_stream_and_different_seed_differs():
    rates, sizes = {"a": 0.7, "b": 0.3}, {"a": 50, "b": 7}
    first = MixtureSampler(rates, sizes, seed=3).take(5000)
    assert first == MixtureSampler(rates, sizes, seed=3).take(5000)
    assert first != MixtureSampler(rates, sizes, seed=4).take(5000)


@pytest.mark.parametrize("position", [0, 1, 4095, 4096, 4097, 9000])
def test_stream_restarts_from_a_position(position):
    rates, sizes = {"a": 0.5, "b": 0.25, "c": 0.25}, {"a": 11, "b": 5000, "c": 3}
    whole = MixtureSampler(rates, sizes, seed=7).take(position + 100)
    assert MixtureSampler(rates, sizes, seed=7, position=position).take(100) == whole[position:]


def test_sampled_proportions_follow_rates_and_epochs_cover_every_row():
    rates, sizes = {"a": 0.8, "b": 0.2}, {"a": 10, "b": 4}
    draws = MixtureSampler(rates, sizes, seed=0).take(20000)
    props = sampled_proportions(draws)
    assert props["a"] == pytest.approx(0.8, abs=0.02)
    first_epoch_a = [i for t, i in draws if t == "a"][:10]
    assert sorted(first_epoch_a) == list(range(10))
