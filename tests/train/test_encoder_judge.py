"""The encoder judge (flame.encoder): rows, batches, training through the recipe, rating through run:.

A tiny random BERT over the packaged MiniLM tokenizer (no download) learns the toy tasks' pattern.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import train_toys as toys

from flame.train.config import ConfigError, RunConfig, from_dict
from flame.types import Example, TaskType


def _pair(a="good answer", b="poor answer", answer="A", labels=("A", "B")):
    return Example(
        task="t",
        task_type=TaskType.PAIRWISE,
        title="Which response is better?",
        description="Pick A or B.",
        inputs={"prompt": "a question", "response A": a, "response B": b},
        targets={"answer": answer},
        labels=labels,
        id="p1",
    )


def _claim(claim="true claim", answer="Yes", labels=("Yes", "No")):
    return Example(
        task="c",
        task_type=TaskType.CLASSIFICATION,
        title="Is the claim supported?",
        description="Yes or No.",
        inputs={"document": "a document", "claim": claim},
        targets={"answer": answer},
        labels=labels,
        id="c1",
    )


def test_a_pair_becomes_two_rows_each_with_one_response(tiny_encoder):
    from transformers import AutoTokenizer

    from flame.encoder.inputs import encode

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    enc = encode(_pair("the first reply", "another text entirely", "B"), tok, 128)
    assert enc.pair and len(enc.rows) == 2 and enc.target == 1
    first, second = (tok.decode(r) for r in enc.rows)
    assert "first reply" in first and "another text" not in first
    assert "another text" in second and "first reply" not in second
    assert "response : the first reply" in first and "response a" not in first  # one field, "response"
    three = encode(_pair(labels=("A", "B", "tie"), answer="tie"), tok, 128)
    assert three.pair and three.target == 2


def test_long_rows_are_cut_in_the_middle_and_flagged(tiny_encoder):
    from transformers import AutoTokenizer

    from flame.encoder.inputs import encode

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    long = " ".join(f"word{i}" for i in range(400))
    enc = encode(_claim(claim="start " + long + " finish"), tok, 96)
    assert enc.truncated and len(enc.rows[0]) <= 96
    text = tok.decode(enc.rows[0])
    assert "start" in text and "finish" in text and "…" in text


def test_collate_shares_label_rows_and_marks_pair_slots(tiny_encoder):
    from transformers import AutoTokenizer

    from flame.encoder.inputs import PAD_SLOT, PAIR_SLOTS, collate, encode

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    batch = [
        encode(e, tok, 64)
        for e in (_claim(), _claim("false", "No"), _pair(), _claim(labels=("1", "2", "3"), answer="3"))
    ]
    t = collate(batch, tok.pad_token_id)
    assert t["input_ids"].shape[0] == 5  # 1 + 1 + 2 + 1 rows
    assert t["label_ids"].shape[0] == 5  # Yes, No, 1, 2, 3: each label row once
    assert t["slot"][2].tolist() == [PAIR_SLOTS["A"], PAIR_SLOTS["B"], PAD_SLOT]
    assert t["slot"][0].tolist()[:2] == t["slot"][1].tolist()[:2]
    assert t["row_a"].tolist() == [0, 1, 2, 4] and t["row_b"].tolist() == [-1, -1, 3, -1]
    assert t["target"].tolist() == [0, 1, 0, 2]
    # Field pairs per row: document-claim for each claim row, prompt-response for each response row; the
    # pair's shared prompt and the claims' shared document are embedded once.
    assert t["pair_row"].tolist() == [0, 1, 2, 3, 4]
    assert t["field_ids"].shape[0] == 6  # document, "true claim" (twice), "false", prompt, 2 responses
    assert t["pair_i"][2] == t["pair_i"][3]  # rows 2 and 3 share the prompt


def test_field_features_are_cosines_of_the_fields(tiny_encoder):
    import torch
    from transformers import AutoTokenizer

    from flame.encoder.inputs import collate, encode
    from flame.encoder.model import load_encoder_judge

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    judge = load_encoder_judge(tiny_encoder).eval()
    same = _claim(claim="a document")  # the claim repeats the document: cosine 1
    t = collate([encode(same, tok, 64), encode(_claim(), tok, 64)], tok.pad_token_id)
    with torch.no_grad():
        f = judge.field_features(t, 2)
    assert f[0].tolist() == pytest.approx([1.0, 1.0, 1.0, 1.0], abs=1e-5)
    assert f[1, 0] < 0.999 and f[1, 3] == 1.0
    # Zero-initialised feature weights: a fresh judge's output does not depend on them until trained.
    with torch.no_grad():
        before = judge(**t)
        torch.manual_seed(0)
        judge.feature_weights.weight.normal_()
        after = judge(**t)
    assert not torch.allclose(before, after)


def test_grounding_reads_the_claim_against_the_whole_source():
    from flame.encoder.inputs import grounding

    article = (
        "The council met in Leeds on 4 May. " + "Filler words keep the middle long. " * 300 + "It ended."
    )
    faithful, invented = "The council met in Leeds.", "The council resigned in York on 9 June."
    # The claim's words are found anywhere in the article, however long: nothing is cut.
    assert grounding({"article": article, "summary": faithful}) == [1.0, 1.0, 1.0, 1.0]
    words, pairs, names, has_source = grounding({"document": article, "summary": invented})
    assert words == pytest.approx(1 / 5)  # council, resigned, york, 9, june ("the", "in", "on": stopwords)
    assert pairs == pytest.approx(1 / 7)  # of "the council", "council resigned", ..., "9 june"
    assert names == pytest.approx(1 / 4)  # The, York, 9, June: only "the" is there
    assert has_source == 1.0
    # The source is found by its field's name, in any place (WiCE puts its claim first); the claim is the
    # last other field (a dialogue's response, not its conversation).
    assert grounding({"claim": invented, "evidence": article}) == [1 / 5, 1 / 7, 1 / 4, 1.0]
    assert grounding({"knowledge": article, "conversation": "Where?", "response": faithful})[0] == 1.0
    # No source, nothing to ground: an answer's words in its question say nothing about the answer.
    assert grounding({"question": article, "response": faithful}) == [0.0, 0.0, 0.0, 0.0]
    assert grounding({"article": article}) == [0.0, 0.0, 0.0, 0.0]


def test_grounding_features_reach_the_label_head_through_each_labels_weights(tiny_encoder):
    import torch
    from transformers import AutoTokenizer

    from flame.encoder.inputs import collate, encode
    from flame.encoder.model import N_FIELD_FEATURES, load_encoder_judge

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    judge = load_encoder_judge(tiny_encoder).eval()

    def claim(text):
        return dataclasses.replace(_claim(), inputs={"document": "a document about cats", "claim": text})

    rows = [encode(claim("a document"), tok, 64), encode(claim("Zulu 7"), tok, 64)]
    t = collate(rows, tok.pad_token_id)
    assert t["grounding"].tolist() == [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]]
    with torch.no_grad():
        f = judge.features(t, 2)
        assert f[:, N_FIELD_FEATURES:].tolist() == t["grounding"].tolist()
        before = judge(**t)
        torch.manual_seed(0)
        judge.feature_weights.weight.normal_()  # each label weighs the features through its embedding
        after = judge(**t)
        weights = judge.feature_weights(
            judge.label_proj(judge.embed(t["label_ids"], t["label_mask"], t["label_pool"]))
        )
    assert not torch.allclose(before, after)
    # The weights differ per label, so the features can favour "Yes" over "No"; the grounded row and the
    # invented one move apart.
    assert not torch.allclose(weights[0], weights[1])
    assert not torch.allclose(after[0] - before[0], after[1] - before[1])


def test_features_are_standardised_by_the_statistics_of_training_rows():
    import torch

    from flame.encoder.model import RunningStandardizer

    norm = RunningStandardizer(3)
    x = torch.tensor([[0.2, 5.0, 1.0], [0.5, 7.0, 1.0], [0.8, 9.0, 1.0]])  # the last: constant in training
    norm.train()
    y = norm(x)  # the first batch is averaged exactly
    assert y.mean(0).tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-4)
    assert y[:, :2].std(0, unbiased=False).tolist() == pytest.approx([1.0, 1.0], abs=1e-2)
    norm.eval()  # rating: the saved statistics, unchanged by what is rated
    before = norm.mean.clone()
    shifted = norm(x + 1).mean(0)
    assert shifted[:2].tolist() == pytest.approx((1 / norm.var[:2].sqrt()).tolist(), rel=1e-2)
    # A feature that never varied in training moves a differing row by at most 10 per unit, not 1/sqrt(eps).
    assert shifted[2] == pytest.approx(10.0)
    assert torch.equal(norm.mean, before)


def test_label_rows_do_not_train_the_encoder(tiny_encoder):
    """Training on labels must not pull the labels' own embeddings together (E8: "Yes" and "No" collapsed)."""
    from transformers import AutoTokenizer

    from flame.encoder.inputs import collate, encode
    from flame.encoder.model import judge_losses, load_encoder_judge

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    judge = load_encoder_judge(tiny_encoder).train()
    ex = _claim(answer="zebra", labels=("zebra", "walrus"))  # label words the text does not contain
    t = collate([encode(ex, tok, 64)], tok.pad_token_id)
    judge_losses(judge, t).sum().backward()
    grad = judge.get_input_embeddings().weight.grad
    label_tokens = tok("zebra walrus", add_special_tokens=False).input_ids
    text_tokens = t["input_ids"][0].tolist()
    assert not set(label_tokens) & set(text_tokens)
    assert grad[label_tokens].abs().sum() == 0  # the label rows sent nothing into the encoder
    assert grad[text_tokens].abs().sum() > 0  # the text row did
    assert judge.label_proj.weight.grad.abs().sum() > 0  # the label projection still learns


def test_generative_examples_cannot_be_encoded(tiny_encoder):
    from transformers import AutoTokenizer

    from flame.encoder.inputs import encode

    ex = Example("g", TaskType.GENERATIVE, "Explain", "Say why.", {"text": "x"}, {"answer": "because"})
    with pytest.raises(ValueError, match="generative"):
        encode(ex, AutoTokenizer.from_pretrained(tiny_encoder), 64)


def _config(base, run_dir, eval_=None, **train):
    return from_dict(
        RunConfig,
        {
            "run_dir": str(run_dir),
            "model": {"base": str(base), "dtype": "fp32", "dropout": 0.0},
            "data": {
                "mixture": toys.TOY_MIXTURE,
                "max_length": 96,
                "decontaminate": False,
                "bucket_batches": 2,
            },
            "optim": {"lr": 3e-3, "warmup_steps": 2, "head_lr_scale": 3.0},
            "train": {
                "steps": 40,
                "batch_size": 8,
                "micro_batch_size": 4,
                "save_every": 20,
                "progress": False,
            }
            | train,
            "eval": {"every": 20, "held_in": [toys.CLASSIFICATION], "n": 8} | (eval_ or {}),
        },
    )


@pytest.mark.slow
def test_an_encoder_judge_trains_with_the_recipe_and_rates_through_run(toy_registry, tiny_encoder, tmp_path):
    from flame.data.collection import load_examples
    from flame.raters import load_rater
    from flame.raters.base import swap_example
    from flame.train.recipe import train

    run = tmp_path / "run"
    result = train(_config(tiny_encoder, run, eval_={"calibrate": 16}))
    assert result.step == 40
    final = run / "final"
    assert (final / "flame_encoder.json").is_file() and (final / "flame_heads.safetensors").is_file()
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in lines if "loss" in x]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3  # it learns
    assert [x["step"] for x in lines if "eval" in x] == [20, 40]

    assert json.loads((final / "flame_encoder.json").read_text())["row_length"] == 96
    rater = load_rater(f"run:{run}")
    assert type(rater).__name__ == "EncoderRater"
    assert rater.max_length == 96  # the rows it was trained on, not the rater default of 512
    pairs = [e for name in toys.PAIRWISE for e in load_examples(name, "train", limit=10, seed=1)]
    judged = rater.judge(pairs)
    swapped = rater.judge([swap_example(e) for e in pairs])
    for j, s in zip(judged, swapped, strict=True):
        assert abs(sum(j.probs.values()) - 1) < 1e-6
        # One response at a time: the shown order cannot change the judgment.
        assert j.probs["A"] == pytest.approx(s.probs["B"], abs=1e-6)
    accuracy = sum(j.prediction == e.answer for e, j in zip(pairs, judged, strict=True)) / len(pairs)
    assert accuracy >= 0.8  # "good answer" beats "poor answer": a pattern 40 steps learn

    claims = load_examples(toys.CLASSIFICATION, "train", limit=8, seed=1)
    for j in rater.judge(claims):
        assert set(j.probs) == {"Yes", "No"} and abs(sum(j.probs.values()) - 1) < 1e-6

    # eval.calibrate fitted a bias for the toy claims' kind of row on their dev split, saved with the judge,
    # and the rater applies it: its probabilities are the raw ones shifted by that bias.
    from flame.encoder.calibration import apply_bias, row_kind
    from flame.encoder.inputs import label_probs

    (bias,) = rater.model.calibration
    assert bias.kind == row_kind(claims[0]) and bias.rows == len(load_examples(toys.CLASSIFICATION, "dev"))
    assert json.loads((final / "flame_encoder.json").read_text())["calibration"][0]["bias"] == list(bias.bias)
    calibrated = label_probs(rater.model, rater.tokenizer, claims[:2], max_length=96)
    rater.model.calibration = []
    raw = label_probs(rater.model, rater.tokenizer, claims[:2], max_length=96)
    for (c, _), (r, _) in zip(calibrated, raw, strict=True):
        assert c == pytest.approx(apply_bias(r, bias))

    # `flame calibrate` refits them on a saved judge; a folder that is not an encoder judge is refused.
    from flame.cli import main

    assert main(["calibrate", str(run), "--task", toys.CLASSIFICATION, "--rows", "4"]) == 0
    (refit,) = json.loads((final / "flame_encoder.json").read_text())["calibration"]
    assert refit["rows"] == 4 and refit["bias"] != list(bias.bias)
    assert main(["calibrate", str(tmp_path)]) == 2

    # An RM stage continues from the judge, heads included.
    rm = train(_config(f"run:{run}", tmp_path / "rm", steps=2, save_every=0))
    assert rm.step == 2 and (tmp_path / "rm" / "final" / "flame_encoder.json").is_file()


def test_lora_on_an_encoder_judge_is_a_config_error(tiny_encoder):
    from flame.train.base import load_model
    from flame.train.config import ModelConfig

    cfg = from_dict(ModelConfig, {"base": str(tiny_encoder), "lora": {"enabled": True}})
    with pytest.raises(ConfigError, match="lora"):
        load_model(cfg)


@pytest.mark.slow
def test_tailpatch_runs_on_an_encoder_judge(toy_registry, tiny_encoder, tmp_path):
    from flame.train.config import TailpatchConfig
    from flame.train.tailpatch import run_tailpatch

    cfg = from_dict(
        TailpatchConfig,
        {
            "run_dir": str(tmp_path / "tp"),
            "candidates": None,
            "tasks": [*toys.PAIRWISE, toys.CLASSIFICATION],
            "model": {"base": str(tiny_encoder), "dtype": "fp32", "dropout": 0.0},
            "data": {"max_length": 96, "decontaminate": False, "bucket_batches": 1},
            "optim": {"lr": 1e-3, "warmup_steps": 0},
            "train": {"steps": 2, "batch_size": 4, "micro_batch_size": 4},
            "target": {"n": 8, "task_types": ["pairwise", "classification"], "metric": "prob"},
        },
    )
    out = run_tailpatch(cfg, progress=False)
    table = out["table"]
    assert sorted(table["tasks"]) == sorted([*toys.PAIRWISE, toys.CLASSIFICATION])
    for cells in table["tasks"].values():
        for cell in cells.values():
            # The mean probability of the human label under the encoder: strictly between 0 and 1.
            assert 0 < cell["after"] < 1 and cell["delta"] == pytest.approx(cell["after"] - cell["before"])
    assert (tmp_path / "tp" / "mixture.json").is_file()


def test_label_rows_are_the_label_alone_pooled_without_special_tokens(tiny_encoder):
    from transformers import AutoTokenizer

    from flame.encoder.inputs import collate, encode

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    t = collate([encode(_claim(), tok, 64)], tok.pad_token_id)
    assert [tok.decode(r[m.bool()]) for r, m in zip(t["label_ids"], t["label_pool"], strict=True)] == [
        "yes",
        "no",
    ]
    assert t["label_mask"].sum() == t["label_pool"].sum() + 4  # [CLS] and [SEP] of each row are attended only


def test_a_judge_of_an_older_format_is_refused(tiny_encoder, tmp_path):
    import json

    from flame.encoder.model import MARKER, load_encoder_judge

    judge = load_encoder_judge(tiny_encoder)
    judge.save_pretrained(tmp_path / "judge")
    assert load_encoder_judge(tmp_path / "judge") is not None
    (tmp_path / "judge" / MARKER).write_text(json.dumps({"format": "flame-encoder-judge", "version": 1}))
    with pytest.raises(ValueError, match="train it again"):
        load_encoder_judge(tmp_path / "judge")
