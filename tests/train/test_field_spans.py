"""`model.fields: spans`: an encoder judge's field-similarity features pooled out of the row's own states
(one encoder pass per row) instead of each field encoded alone."""

from __future__ import annotations

import json

import pytest
import torch
import train_toys as toys
from test_frozen import _config

from flame.types import Example, TaskType


def _pair() -> Example:
    return Example(
        "t",
        TaskType.PAIRWISE,
        "Which response is better?",
        "Pick the more helpful response. " * 8,
        {
            "prompt": "What is the capital of France?",
            "response A": "Paris is the capital.",
            "response B": "Rome, I think.",
        },
        {"answer": "A"},
        labels=("A", "B"),
    )


def _tokenizer(tiny_encoder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_encoder)


@pytest.mark.parametrize("instructions", ["full", "title"])
def test_each_span_covers_its_fields_tokens_in_the_row(tiny_encoder, instructions):
    from flame.encoder.inputs import encode

    tok = _tokenizer(tiny_encoder)
    e = encode(_pair(), tok, 512, instructions=instructions, fields="spans")
    assert e.fields == [[], []]  # no field is encoded alone
    decoded = [[tok.decode(ids[s:t]) for s, t in spans] for ids, spans in zip(e.rows, e.spans, strict=True)]
    assert decoded == [
        ["what is the capital of france?", "paris is the capital."],
        ["what is the capital of france?", "rome, i think."],
    ]


def test_spans_follow_a_cut_row_and_never_reach_past_it(tiny_encoder):
    from flame.encoder.inputs import encode

    tok = _tokenizer(tiny_encoder)
    article = "The cat sat on the mat. " * 80
    ex = Example(
        "c",
        TaskType.CLASSIFICATION,
        "Is the summary consistent with the article?",
        "d",
        {"article": article, "summary": "A cat sat."},
        {"answer": "Yes"},
        labels=("Yes", "No"),
    )
    e = encode(ex, tok, 128, fields="spans")
    (ids,), (spans,) = e.rows, e.spans
    assert e.truncated and len(ids) <= 128
    assert tok.decode(ids[slice(*spans[1])]) == "a cat sat."  # the judged field is kept whole
    assert all(0 < s < t <= len(ids) - 1 for s, t in spans)
    # Rows too short for the context: the fields' spans are empty and add no field pair.
    short = encode(ex, tok, 24, instructions="full", fields="spans")
    assert all(s == t for s, t in short.spans[0])


def test_span_features_are_means_of_the_rows_own_states(tiny_encoder):
    """The field vectors are the means over each span of the row's last hidden states, by hand."""
    from flame.encoder.inputs import collate, encode
    from flame.encoder.model import load_encoder_judge

    tok = _tokenizer(tiny_encoder)
    judge = load_encoder_judge(tiny_encoder).eval()
    e = encode(_pair(), tok, 512, fields="spans")
    t = collate([e], tok.pad_token_id)
    with torch.no_grad():
        h, features = judge.encode_rows(t)
        states = judge.backbone(
            input_ids=t["input_ids"], attention_mask=t["attention_mask"]
        ).last_hidden_state
    for row, spans in enumerate(e.spans):
        (s1, t1), (s2, t2) = spans
        a, b = states[row, s1:t1].mean(0), states[row, s2:t2].mean(0)
        cos = float(torch.nn.functional.cosine_similarity(a, b, dim=0))
        assert features[row, :4].tolist() == pytest.approx([cos, cos, cos, 1.0], abs=1e-5)
    assert "span_row" in t and t["field_ids"].numel() == 0  # nothing embedded alone


def test_span_rows_have_their_own_cache_keys_and_cached_scores_equal_the_forward(toy_registry, tiny_encoder):
    from flame.data.collection import load_examples
    from flame.encoder.features import FeatureStore, encode_features, head_batch, row_key
    from flame.encoder.inputs import collate, encode
    from flame.encoder.model import load_encoder_judge

    tok = _tokenizer(tiny_encoder)
    judge = load_encoder_judge(tiny_encoder).eval()
    judge.fields = "spans"
    torch.nn.init.normal_(judge.field_reward.weight)
    torch.nn.init.normal_(judge.feature_weights.weight)
    examples = [e for name in toys.PAIRWISE for e in load_examples(name, "train", limit=3, seed=1)]
    examples += load_examples(toys.CLASSIFICATION, "train", limit=3, seed=1)
    encoded = [encode(ex, tok, 96, fields="spans") for ex in examples]
    alone = encode(examples[0], tok, 96)
    assert encoded[0].rows == alone.rows
    keys = {
        row_key(r, f, g, "fp32", s)
        for r, f, g, s in zip(
            *(getattr(encoded[0], a) for a in ("rows", "fields", "grounding", "spans")), strict=True
        )
    }
    assert not keys & {
        row_key(r, f, g, "fp32") for r, f, g in zip(alone.rows, alone.fields, alone.grounding, strict=True)
    }
    cached = encode_features(judge, encoded, FeatureStore(None), pad_id=tok.pad_token_id, tag="fp32")
    with torch.no_grad():
        full = judge(**collate(encoded, tok.pad_token_id))
        t = head_batch(cached, judge.config.hidden_size)
        heads = judge.score(t["h"], t["features"], t["labels"], t["row_a"], t["row_b"], t["slot"])
    assert torch.allclose(full, heads, atol=1e-5)


@pytest.mark.slow
def test_a_judge_trained_with_span_fields_is_rated_with_them(
    toy_registry, tiny_encoder, tmp_path, monkeypatch
):
    from flame.encoder.inputs import encoded_probs, label_probs
    from flame.raters import load_rater
    from flame.train.frozen import train_frozen

    monkeypatch.setenv("FLAME_CACHE", str(tmp_path / "cache"))
    config = _config(tiny_encoder, tmp_path / "run", epochs=2)
    config.model.fields = "spans"
    result = train_frozen(config)
    marker = json.loads((result.final_dir / "flame_encoder.json").read_text())
    assert marker["fields"] == "spans"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["field_tokens"] == 0
    rater = load_rater(f"run:{tmp_path / 'run'}")
    assert rater.model.fields == "spans"
    # The rater reads span rows: its probabilities are those of the rows encoded with spans.
    from flame.data.collection import load_examples
    from flame.encoder.inputs import encode

    ex = load_examples(next(iter(toys.PAIRWISE)), "train", limit=2, seed=3)
    model, tok = rater.model, rater.tokenizer
    model.calibration = []
    got = [p for probs, _ in label_probs(model, tok, ex, max_length=96) for p in probs.values()]
    want = encoded_probs(model, [encode(e, tok, 96, fields="spans") for e in ex], pad_id=tok.pad_token_id)
    assert got == pytest.approx([p for probs in want for p in probs], abs=1e-6)
    alone = encoded_probs(model, [encode(e, tok, 96) for e in ex], pad_id=tok.pad_token_id)
    assert [p for probs in alone for p in probs] != pytest.approx(got, abs=1e-6)  # the mode matters


def test_span_fields_are_refused_for_a_text_to_text_model(tiny_model):
    from flame.families import FamilyError
    from flame.families.lm import CAUSAL
    from flame.train.config import ModelConfig

    with pytest.raises(FamilyError, match="encoder judge's option"):
        CAUSAL.load(str(tiny_model), ModelConfig(base=str(tiny_model), fields="spans"))
