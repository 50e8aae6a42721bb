"""Benchmark registrations: held-out suite contents, selection by dataset folder, subset names."""

from __future__ import annotations

import pytest

from flame.benchmarks import BENCHMARKS, EmptyBenchmarkError, get_benchmark, suite_benchmarks
from flame.benchmarks.base import Benchmark, cap, subset_name
from flame.registry import UnknownNameError
from flame.types import TaskType


def test_heldout_v1_lists_the_foundation_benchmarks():
    assert suite_benchmarks("heldout_v1") == [
        "mtbench_human",
        "pandalm",
        "llmeval2",
        "faireval",
        "summac",
        "wice",
        "summeval",
    ]
    assert get_benchmark("mtbench_human").human == {"accuracy": 0.81}
    assert get_benchmark("wice").binarize["Partially supported"] == "No"


def test_benchmarks_select_registered_eval_only_tasks():
    summac = get_benchmark("summac").task_names()
    assert len(summac) == 4 and all(n.startswith("summac_benchmark_") for n in summac)
    assert len(get_benchmark("summeval").task_names()) == 4
    for name in suite_benchmarks("heldout_v1"):
        assert get_benchmark(name).task_names(), name


def test_heldin_uses_dev_splits_of_training_tasks():
    names = suite_benchmarks("heldin_v1")
    assert names and all(n.endswith("_dev") for n in names)
    b = BENCHMARKS.get(names[0])
    assert b.split == "dev" and not b.eval_only
    assert set(suite_benchmarks("heldout_v1")) < set(suite_benchmarks("all"))


def test_an_empty_selection_fails_loudly():
    with BENCHMARKS.isolated():
        b = Benchmark("nothing", "d", TaskType.PAIRWISE, "g", "accuracy", datasets=("no_such_dataset",))
        with pytest.raises(EmptyBenchmarkError, match="selects no registered task"):
            b.load()


def test_unknown_benchmark_suggests():
    with pytest.raises(UnknownNameError, match="did you mean"):
        get_benchmark("mtbench_humans")


def test_subset_names_and_cap():
    assert (
        subset_name("summac_benchmark_factcc_consistency_classification_v1", ("summac_benchmark",))
        == "factcc_consistency"
    )
    rows = list(range(10))
    assert cap(rows, 3, seed=1) == cap(rows, 3, seed=1) and len(cap(rows, 3, seed=1)) == 3
    assert cap(rows, None, 0) == rows


def test_a_held_in_dev_benchmark_is_found_by_name_before_its_suite_is_listed():
    # Held-in benchmarks are registered on first use; asking for one by name is a first use.
    bench = get_benchmark("hh_rlhf_pairwise_dev")
    assert bench.split == "dev" and bench.datasets == ("hh_rlhf",)
