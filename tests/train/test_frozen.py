"""`train.backbone: frozen`: rows encoded once (cached by the encoder's weights), heads trained on the
vectors, the same judge folder as the fine-tuned recipe's, rated through ``run:``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import train_toys as toys
from hypothesis import given
from hypothesis import strategies as st

from flame.train.config import RunConfig, from_dict
from flame.train.frozen import draw_quotas


def _config(base, run_dir, **train):
    return from_dict(
        RunConfig,
        {
            "run_dir": str(run_dir),
            "model": {"base": str(base), "dtype": "fp32", "dropout": 0.0},
            "data": {"mixture": toys.TOY_MIXTURE, "max_length": 96, "decontaminate": False},
            "optim": {"lr": 3e-3, "warmup_steps": 2, "head_lr_scale": 3.0},
            "train": {"backbone": "frozen", "rows": 40, "epochs": 30, "batch_size": 8, "progress": False}
            | train,
            "eval": {"every": -1, "calibrate": 8},
        },
    )


@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 50), min_size=1),
    st.integers(1, 400),
)
def test_quotas_share_the_rows_by_rate_and_never_exceed_a_task(sizes, rows):
    rates = {t: 1.0 + i for i, t in enumerate(sorted(sizes))}
    quota = draw_quotas(rates, sizes, rows)
    assert all(0 <= quota[t] <= sizes[t] for t in sizes)
    assert sum(quota.values()) == min(rows, sum(sizes.values()))  # every row asked for, if there are enough


def test_quotas_follow_the_rates_where_no_task_runs_out():
    quota = draw_quotas({"a": 0.75, "b": 0.25}, {"a": 1000, "b": 1000}, 400)
    assert quota == {"a": 300, "b": 100}
    # A small task gives all it has; the rest goes to the other.
    assert draw_quotas({"a": 0.5, "b": 0.5}, {"a": 1000, "b": 10}, 400) == {"a": 390, "b": 10}


def test_cached_features_score_exactly_as_the_full_forward(toy_registry, tiny_encoder):
    """score(cached h, features, labels) is forward(...) for a frozen encoder: the cache changes nothing."""
    from transformers import AutoTokenizer

    from flame.data.collection import load_examples
    from flame.encoder.features import FeatureStore, encode_features, head_batch
    from flame.encoder.inputs import collate, encode
    from flame.encoder.model import load_encoder_judge

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    judge = load_encoder_judge(tiny_encoder).eval()
    torch.nn.init.normal_(judge.field_reward.weight)  # non-zero feature weights, so features count
    torch.nn.init.normal_(judge.feature_weights.weight)
    examples = [e for name in toys.PAIRWISE for e in load_examples(name, "train", limit=3, seed=1)]
    examples += load_examples(toys.CLASSIFICATION, "train", limit=3, seed=1)
    encoded = [encode(ex, tok, 96) for ex in examples]
    store = FeatureStore(None)
    cached = encode_features(judge, encoded, store, pad_id=tok.pad_token_id, tag="fp32")
    with torch.no_grad():
        full = judge(**collate(encoded, tok.pad_token_id))
        t = head_batch(cached, judge.config.hidden_size)
        heads = judge.score(t["h"], t["features"], t["labels"], t["row_a"], t["row_b"], t["slot"])
    assert torch.allclose(full, heads, atol=1e-5)
    assert t["target"].tolist() == [e.target for e in encoded]


def test_the_store_survives_a_restart_and_a_torn_file(tmp_path):
    from flame.encoder.features import FeatureStore

    store = FeatureStore(tmp_path)
    vectors = {f"k{i}": np.arange(4, dtype=np.float32) + i for i in range(3)}
    store.put(vectors)
    (tmp_path / "torn.arrow").write_bytes(b"ARROW1\x00\x00half a file")  # killed mid-write elsewhere
    again = FeatureStore(tmp_path)
    assert set(again.vectors) == set(vectors)
    assert np.array_equal(again.get("k2"), vectors["k2"])


@pytest.mark.slow
def test_a_frozen_run_learns_rates_through_run_and_reuses_its_features(
    toy_registry, tiny_encoder, tmp_path, monkeypatch
):
    from flame.data.collection import load_examples
    from flame.raters import load_rater
    from flame.train.recipe import train

    monkeypatch.setenv("FLAME_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    result = train(_config(tiny_encoder, run))
    assert (result.final_dir / "flame_encoder.json").is_file()
    meta = json.loads((run / "run.json").read_text())
    rows = (run / "rows.txt").read_text().splitlines()
    assert meta["backbone"] == "frozen" and meta["distinct_rows"] == len(set(rows)) == len(rows)
    assert meta["distinct_rows"] == 40
    losses = [x["loss"] for x in map(json.loads, (run / "metrics.jsonl").open()) if "loss" in x]
    assert len(losses) == 30 and losses[-1] < losses[0]  # it learns from the cached rows

    rater = load_rater(f"run:{run}")
    pairs = [e for name in toys.PAIRWISE for e in load_examples(name, "train", limit=10, seed=1)]
    judged = rater.judge(pairs)
    accuracy = sum(j.prediction == e.answer for e, j in zip(pairs, judged, strict=True)) / len(pairs)
    assert accuracy >= 0.8  # "good answer" beats "poor answer" through a random encoder's features
    # The encoder is the base's, unchanged: only the heads were trained.
    from safetensors.torch import load_file

    saved = load_file(str(next(result.final_dir.glob("model*.safetensors"))))
    base = load_file(str(next(tiny_encoder.glob("model*.safetensors"))))
    assert set(base) & set(saved) and all(torch.equal(saved[k], base[k]) for k in base if k in saved)

    # A second run with the same base reads every row from the cache: no new feature file is written,
    # and the same seed gives the same rows and the same heads.
    files = sorted((tmp_path / "cache" / "features").rglob("*.arrow"))
    second = train(_config(tiny_encoder, tmp_path / "run2"))
    assert sorted((tmp_path / "cache" / "features").rglob("*.arrow")) == files
    assert (tmp_path / "run2" / "rows.txt").read_text() == (run / "rows.txt").read_text()
    a = load_file(str(result.final_dir / "flame_heads.safetensors"))
    b = load_file(str(second.final_dir / "flame_heads.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    # From an empty cache too: a fixed amount of work, not a time budget, so the judge is the same.
    monkeypatch.setenv("FLAME_CACHE", str(tmp_path / "empty-cache"))
    third = train(_config(tiny_encoder, tmp_path / "run3"))
    c = load_file(str(third.final_dir / "flame_heads.safetensors"))
    assert (tmp_path / "run3" / "rows.txt").read_text() == (run / "rows.txt").read_text()
    assert all(torch.allclose(a[k], c[k], atol=1e-6) for k in a)


def test_title_only_rows_are_shorter_and_keep_the_whole_context(toy_registry, tiny_encoder):
    from transformers import AutoTokenizer

    from flame.data.collection import load_examples
    from flame.encoder.inputs import encode, row_text

    ex = load_examples(toys.CLASSIFICATION, "train", limit=1, seed=1)[0]
    text = row_text(ex, "title")
    assert text.startswith(f"INSTRUCTIONS:\ntitle: {ex.title}") and ex.description not in text
    assert all(f"{k}: {v.strip()}" in text for k, v in ex.inputs.items())
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    assert len(encode(ex, tok, 512, instructions="title").rows[0]) < len(encode(ex, tok, 512).rows[0])
    with pytest.raises(ValueError, match="instructions 'none'"):
        row_text(ex, "none")


@pytest.mark.slow
def test_a_judge_trained_on_title_rows_is_rated_on_title_rows(
    toy_registry, tiny_encoder, tmp_path, monkeypatch
):
    from flame.raters import load_rater
    from flame.train.recipe import train

    monkeypatch.setenv("FLAME_CACHE", str(tmp_path / "cache"))
    config = _config(tiny_encoder, tmp_path / "run", epochs=2)
    config.model.instructions = "title"
    result = train(config)
    assert json.loads((result.final_dir / "flame_encoder.json").read_text())["instructions"] == "title"
    assert load_rater(f"run:{tmp_path / 'run'}").model.instructions == "title"
    # An RM stage on it keeps reading title rows ("auto": the base judge's own).
    rm = _config(f"run:{tmp_path / 'run'}", tmp_path / "rm", epochs=1)
    assert json.loads((train(rm).final_dir / "flame_encoder.json").read_text())["instructions"] == "title"


def test_title_rows_are_refused_for_a_text_to_text_model(tiny_model):
    from flame.families import FamilyError
    from flame.families.lm import CAUSAL
    from flame.train.config import ModelConfig

    with pytest.raises(FamilyError, match="encoder judge's option"):
        CAUSAL.load(str(tiny_model), ModelConfig(base=str(tiny_model), instructions="title"))
