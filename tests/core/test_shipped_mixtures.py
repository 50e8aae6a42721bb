"""Shipped mixtures name real tasks, never contain a held-out benchmark, and sample deterministically."""

import pytest

from flame.data.mixtures import MIXTURES, MixtureSampler, resolve
from flame.data.task import load_all_tasks

TASKS = load_all_tasks()


@pytest.mark.parametrize("name", MIXTURES.names())
def test_mixture_components_are_registered(name):
    for component, _ in MIXTURES.get(name).items():
        assert component in TASKS or component in MIXTURES, f"{name}: unknown component {component}"


@pytest.mark.parametrize("name", MIXTURES.names())
def test_no_training_mixture_contains_a_held_out_benchmark(name):
    rates = resolve(name, lambda task: 1000)
    held_out = [t for t in rates if TASKS.get(t).eval_only]
    assert held_out == [], f"{name} samples held-out benchmarks {held_out}"


def test_flame_v1_is_every_first_version_training_task():
    rates = resolve("flame_v1", lambda task: 1000)
    expected = {
        t.name for t in TASKS.values() if not t.eval_only and t.name.endswith("_v1") and not t.derived_from
    }
    assert set(rates) == expected


@pytest.mark.parametrize("name", ["flame_v1", "flame_mini_v1", "flame_mini_v2"])
def test_v1_mixtures_leave_out_the_v2_tasks(name):
    # A _v2 task (a reference answer shown) is v1's data with another text: a v1 mixture keeps its draws.
    v2 = {t.name for t in TASKS.values() if t.name.endswith("_v2")}
    assert v2, "no _v2 task is registered"
    assert not v2 & set(resolve(name, lambda task: 500))


def test_flame_rm_v1_is_an_equal_mix_of_its_categories():
    rates = resolve("flame_rm_v1", lambda task: 500)
    assert sum(p for t, p in rates.items() if t.startswith("hh_rlhf_harmless")) == pytest.approx(1 / 3)
    assert rates["codegen_conala_pairwise_v1"] == pytest.approx(1 / 3)
    assert all(TASKS.get(t).task_type == "pairwise" for t in rates)


def test_flame_v1_stream_is_deterministic():
    sizes = {t.name: 100 + i for i, t in enumerate(TASKS.values())}
    rates = resolve("flame_v1", sizes.get)
    assert MixtureSampler(rates, sizes, seed=5).take(2000) == MixtureSampler(rates, sizes, seed=5).take(2000)


def test_flame_mini_v1_fixes_task_type_shares_and_skips_generative_and_held_out_tasks():
    rates = resolve("flame_mini_v1", lambda task: 500)
    share = {}
    for t, p in rates.items():
        task = TASKS.get(t)
        assert not task.eval_only
        share[task.task_type] = share.get(task.task_type, 0.0) + p
    assert share == pytest.approx({"pairwise": 0.4, "classification": 0.4, "pointwise": 0.2})
    # Within a type, examples-proportional: equal sizes give equal rates.
    pairwise = [p for t, p in rates.items() if TASKS.get(t).task_type == "pairwise"]
    assert max(pairwise) == pytest.approx(min(pairwise))


def test_flame_mini_v2_caps_each_task_at_2_to_the_10_within_the_same_type_shares():
    sizes = {t.name: 100 + 10 * i for i, t in enumerate(TASKS.values())}
    sizes["truthfulqa_judge_truthfulness_classification_v1"] = 60_000  # a large task, as in the shared data
    rates = resolve("flame_mini_v2", sizes.get)
    share = {}
    for t, p in rates.items():
        share[TASKS.get(t).task_type] = share.get(TASKS.get(t).task_type, 0.0) + p
    assert share == pytest.approx({"pairwise": 0.4, "classification": 0.4, "pointwise": 0.2})
    classification = {t: p for t, p in rates.items() if TASKS.get(t).task_type == "classification"}
    big = classification.pop("truthfulqa_judge_truthfulness_classification_v1")
    small = min(classification, key=lambda t: sizes[t])
    # The large task counts as 1,024 examples; a task under the cap keeps its own size.
    assert big / classification[small] == pytest.approx(1024 / sizes[small])
