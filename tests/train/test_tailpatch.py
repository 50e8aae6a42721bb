"""Tail-patch mixture optimisation: pure rating/bundle rules on literal tables, then a small run end to end."""

from __future__ import annotations

import json

import pytest
import train_toys as toys

from flame.train.config import BundleConfig, RatingConfig, TailpatchConfig, from_dict
from flame.train.tailpatch import form_bundles, mixture_weights, rate_effect


@pytest.mark.parametrize(
    "delta, mid, rating",
    [
        (0.05, 0.01, 2),
        (0.05, -0.01, 1),  # helps at the end but not mid-way: not stable
        (0.05, None, 2),
        (0.01, 0.01, 1),
        (0.0, 0.0, 0),
        (-0.005, 0.0, 0),
        (-0.02, 0.0, -1),
    ],
)
def test_rate_effect(delta, mid, rating):
    assert rate_effect(delta, mid, RatingConfig()) == rating


def test_bundles_and_weights_follow_the_paper():
    ratings = {
        "a": {"chat": 2, "safety": 2, "coding": 1},  # total 5: generally helpful, and in chat and safety
        "b": {"chat": 0, "safety": 2, "coding": 0},
        "c": {"chat": -1, "safety": 0, "coding": 1},
        "d": {"chat": 0, "safety": 0, "coding": 0},
    }
    deltas = {
        "a": {"chat": 0.03, "safety": 0.03, "coding": 0.01},
        "b": {"chat": 0.0, "safety": 0.04, "coding": 0.0},
        "c": {"chat": -0.02, "safety": 0.0, "coding": 0.015},
        "d": {"chat": 0.0, "safety": 0.0, "coding": 0.002},
    }
    baseline = {"chat": 0.7, "safety": 0.6, "coding": 0.5}
    cfg = BundleConfig(weak_categories=1)
    bundles = form_bundles(ratings, deltas, baseline, cfg)
    assert bundles["general"] == ["a"]
    assert bundles["categories"] == {"chat": ["a"], "coding": [], "safety": ["a", "b"]}
    assert bundles["others"] == ["c", "d"]
    assert bundles["weak_categories"] == ["coding"] and bundles["weak_top"] == {"coding": ["c", "a"]}
    assert mixture_weights(bundles, cfg) == {"a": 200_000, "b": 30_000, "c": 200_000, "d": 3_000}


def tailpatch_config(tiny_model, run_dir, **top) -> TailpatchConfig:
    return from_dict(
        TailpatchConfig,
        {
            "run_dir": str(run_dir),
            "candidates": None,
            "tasks": list(toys.PAIRWISE),
            "model": {"base": str(tiny_model), "dtype": "fp32", "dropout": 0.0},
            "data": {"max_length": 128, "decontaminate": False, "bucket_batches": 1},
            "optim": {"lr": 1e-3, "warmup_steps": 0},
            "train": {"steps": 2, "batch_size": 4, "micro_batch_size": 4},
            "target": {"n": 8, "task_types": ["pairwise", "classification"]},
            "bundles": {"weak_categories": 1},
            **top,
        },
    )


@pytest.mark.slow
def test_tailpatch_end_to_end_writes_table_heatmap_and_a_trainable_mixture(
    toy_registry, tiny_model, tmp_path, monkeypatch
):
    import flame.train.tailpatch as tp
    from flame.train.config import DataConfig
    from flame.train.data import build_training_data

    out = tp.run_tailpatch(tailpatch_config(tiny_model, tmp_path / "tp"), progress=False)
    table = json.loads((tmp_path / "tp" / "effects.json").read_text())
    assert sorted(table["tasks"]) == sorted(toys.PAIRWISE)
    assert table["categories"] == ["coding", "factuality", "general_quality", "safety"]
    assert table["split"] == "dev"
    cell = table["tasks"][next(iter(toys.PAIRWISE))]["safety"]
    assert cell["delta"] == pytest.approx(cell["after"] - cell["before"]) and cell["rating"] in (-1, 0, 1, 2)
    assert (tmp_path / "tp" / "effects.png").stat().st_size > 1000
    mixture = json.loads((tmp_path / "tp" / "mixture.json").read_text())
    assert mixture["name"] == "flame_opt_rm_v1" and sorted(t for t, _ in mixture["components"]) == sorted(
        toys.PAIRWISE
    )
    # `flame train` accepts the written mixture file
    data = build_training_data(DataConfig(mixture=out["mixture"], decontaminate=False), progress=False)
    assert sorted(data.tasks) == sorted(toys.PAIRWISE)

    # Resumable one task at a time: a rerun only redoes the task whose result is missing.
    (tmp_path / "tp" / "tasks" / f"{toys.CLASSIFICATION}.json").unlink(missing_ok=True)
    redo = next(iter(toys.PAIRWISE))
    (tmp_path / "tp" / "tasks" / f"{redo}.json").unlink()
    done = []
    real = tp.patch_one
    monkeypatch.setattr(
        tp, "patch_one", lambda cfg, task, sets, run_dir: done.append(task) or real(cfg, task, sets, run_dir)
    )
    tp.run_tailpatch(tailpatch_config(tiny_model, tmp_path / "tp"), progress=False)
    assert done == [redo]


def test_target_refuses_held_out_test_data(toy_registry, tiny_model, tmp_path):
    from flame.data.task import TASKS
    from flame.train.config import ConfigError
    from flame.train.tailpatch import target_sets

    held_out = TASKS.get(toys.CLASSIFICATION)
    import dataclasses

    TASKS.remove(held_out.name)
    TASKS.add(held_out.name, dataclasses.replace(held_out, eval_only=True))
    cfg = tailpatch_config(tiny_model, tmp_path, target={"categories": {"factuality": [toys.CLASSIFICATION]}})
    with pytest.raises(ConfigError, match="held-out benchmark"):
        target_sets(cfg)
