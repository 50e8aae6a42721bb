"""Prefix reuse (`flame.scoring`): rows sharing a prefix get its key/value cache computed once, and score what the
plain path scores, in fp32 within 1e-4 of P (measured: within 1e-6), on a tiny random Llama over SmolLM2's
tokenizer whose logits are sharpened (probabilities from about 1e-9 to 0.9999, so disagreement would show)."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from rater_examples import nli, pair, point

from flame.raters import load_rater
from flame.scoring import LabelScorer, PrefixGroup, plan_prefixes
from flame.types import Example, TaskType

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOL = 1e-4
MAX_LENGTH = 160  # the long rows below are truncated


@pytest.fixture(scope="module")
def sharp_dir(smollm2_tokenizer_dir, tmp_path_factory):
    tok = transformers.AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = transformers.LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.norm.weight.mul_(30)  # logits ×30: sharp label probabilities
    out = tmp_path_factory.mktemp("sharp") / "model"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _rate_word(i: int, text: str) -> Example:
    """Multi-token labels of different lengths (one forward row per label)."""
    return Example(
        task="test/words",
        task_type=TaskType.CLASSIFICATION,
        title="Is the statement true?",
        description="Answer definitely true, maybe or false.",
        inputs={"statement": text},
        targets={"answer": "maybe"},
        labels=("definitely true", "maybe", "false"),
        id=f"w{i}",
    )


def mixed() -> list[Example]:
    long = "start " + "filler words here " * 60 + " end"
    return [
        pair(0, "Hello!", "Go away."),
        pair(1, "Hi there, friend.", "Go away.", tie=True),
        pair(2, long, "short"),  # truncated
        pair(3, "Hello!", long),  # truncated, the cut in the second response
        pair(4, "Same prompt, other answer.", "No.", prompt="Say hi."),
        point(5, "Rain is water."),
        point(6, "Rain falls from clouds when droplets grow heavy."),
        nli(7, "A cat sleeps.", "An animal rests."),
        nli(8, "A dog barks.", "It is silent."),
        _rate_word(9, "Water is wet."),
        _rate_word(10, "The moon is cheese."),
        pair(11, "Alone in its own task?", "Yes.", prompt="Different prompt."),
    ]


def _probs(scored, examples) -> list[float]:
    """Every example's label probabilities, one flat list."""
    return [
        p
        for s, _ in zip(scored, examples, strict=True)
        for p in torch.softmax(torch.tensor(s.logprobs, dtype=torch.float64), 0).tolist()
    ]


def test_plan_groups_shared_prefixes_and_leaves_the_rest_alone():
    a, b = list(range(40)), list(range(100, 140))
    seqs = [a + [1, 2], b + [5], a + [3], [7] * 50, b + [6, 6], a + [4]]
    limits = [len(s) - 1 for s in seqs]
    assert plan_prefixes(seqs, limits) == [PrefixGroup(40, [0, 2, 5]), PrefixGroup(40, [1, 4])]
    # A row may not give away the position it is read at: the limit caps the shared prefix (2 × 35 saved
    # beats 1 × 39 without row 0).
    assert plan_prefixes(seqs, [35, 39, 39, 49, 39, 39]) == [
        PrefixGroup(35, [0, 2, 5]),
        PrefixGroup(39, [1, 4]),
    ]
    # Shorter than min_prefix: not worth a cache.
    assert plan_prefixes([a[:10] + [1], a[:10] + [2]], [10, 10]) == []
    # Longer prefixes in smaller groups win where they save more: (2-1)·60 + (2-1)·60 > (4-1)·35.
    c = a[:35]
    seqs = [c + [1] * 25 + [8], c + [1] * 25 + [9], c + [2] * 25 + [8], c + [2] * 25 + [9]]
    assert plan_prefixes(seqs, [60] * 4) == [PrefixGroup(60, [0, 1]), PrefixGroup(60, [2, 3])]
    assert plan_prefixes([], []) == []


def test_prefix_reuse_scores_what_the_plain_path_scores(sharp_dir):
    """Rows of several tasks in one call (pairs, ties, points, NLI, multi-token labels), truncated rows among
    them, batch sizes that mix groups in one batch."""
    model = transformers.AutoModelForCausalLM.from_pretrained(sharp_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(sharp_dir)
    exs = mixed()
    plain = LabelScorer(model, tok, max_length=MAX_LENGTH, batch_size=3, prefix_cache=False)
    reuse = LabelScorer(model, tok, max_length=MAX_LENGTH, batch_size=3, prefix_cache=True)
    rows, truncated = reuse.causal_rows(exs)
    assert truncated[2] and truncated[3] and sum(truncated) == 2
    groups = plan_prefixes([r.ids for r in rows], [min(p for p, _, _ in r.reads) for r in rows])
    assert len(groups) >= 4 and sum(len(g.rows) for g in groups) >= len(rows) - 1  # reuse does apply
    a, b = plain(exs), reuse(exs)
    assert [s.truncated for s in a] == [s.truncated for s in b] == truncated
    pa = _probs(a, exs)
    assert max(pa) > 0.999 and min(pa) < 1e-6  # sharp enough for a disagreement to show
    for ex, sx, sy in zip(exs, a, b, strict=True):
        assert _probs([sy], [ex]) == pytest.approx(_probs([sx], [ex]), abs=TOL), ex.id
        assert sy.logprobs == pytest.approx(sx.logprobs, abs=1e-3), ex.id
    # One example alone (nothing to share) and batch size 1 take the same values.
    for batch_size in (1, 8):
        again = LabelScorer(model, tok, max_length=MAX_LENGTH, batch_size=batch_size, prefix_cache=True)(exs)
        assert _probs(again, exs) == pytest.approx(pa, abs=TOL)
    (alone,) = reuse(exs[:1])
    assert _probs([alone], exs[:1]) == pytest.approx(pa[:2], abs=TOL)


def test_swapped_rater_with_and_without_prefix_reuse(sharp_dir, tmp_path):
    """Both orders of a pair share everything before the first response; the cache key does not change."""
    exs = [pair(i, f"answer {i} " * (i + 1), f"other {i}") for i in range(5)] + [
        pair(9, "start " + "long words " * 80, "b")
    ]
    on = load_rater(
        f"hf:{sharp_dir}", dtype="fp32", swap=True, max_length=MAX_LENGTH, batch_size=4, prefix_cache=True
    )
    off = load_rater(
        f"hf:{sharp_dir}", dtype="fp32", swap=True, max_length=MAX_LENGTH, batch_size=4, prefix_cache=False
    )
    assert on.cache_identity() == off.cache_identity()
    assert on._scorer().prefix_cache and not off._scorer().prefix_cache
    for x, y in zip(on.judge(exs), off.judge(exs), strict=True):
        assert x.probs == pytest.approx(y.probs, abs=TOL)
        for order in ("AB", "BA"):
            assert x.metadata["orders"][order]["probs"] == pytest.approx(
                y.metadata["orders"][order]["probs"], abs=TOL
            )
        assert x.truncated == y.truncated
    assert on.judge(exs)[-1].truncated


def test_prefix_reuse_is_on_where_it_pays(sharp_dir):
    model = transformers.AutoModelForCausalLM.from_pretrained(sharp_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(sharp_dir)
    assert not LabelScorer(model, tok)._reuses_prefixes()  # CPU: measured slower (BENCHMARKS.md)
    assert LabelScorer(model, tok, prefix_cache=True)._reuses_prefixes()
    model.config.sliding_window = 64  # a sliding-window cache drops old keys: never reused
    assert not LabelScorer(model, tok, prefix_cache=True)._reuses_prefixes()


def test_bf16_prefix_reuse_agrees(sharp_dir):
    exs = mixed()
    on = load_rater(f"hf:{sharp_dir}", dtype="bf16", max_length=MAX_LENGTH, prefix_cache=True).judge(exs)
    off = load_rater(f"hf:{sharp_dir}", dtype="bf16", max_length=MAX_LENGTH, prefix_cache=False).judge(exs)
    for x, y in zip(on, off, strict=True):
        assert x.probs == pytest.approx(y.probs, abs=0.05)


def test_rating_an_overlong_example_prints_no_tokenizer_warning_or_progress_bar(sharp_dir, caplog, capfd):
    transformers.utils.logging.enable_propagation()
    try:
        with caplog.at_level(logging.WARNING):
            r = load_rater(f"hf:{sharp_dir}", dtype="fp32", max_length=MAX_LENGTH)
            r.tokenizer.model_max_length = 64  # what a tokenizer with a short limit warns about
            long = pair(0, "start " + "filler words here " * 300 + " end", "short")
            js = r.judge([long, dataclasses.replace(long, id="again")])
            r._generate([long], lambda ex: "word " * 200)
    finally:
        transformers.utils.logging.disable_propagation()
    assert js[0].truncated
    out, err = capfd.readouterr()
    text = caplog.text + out + err
    assert "Token indices sequence length" not in text
    assert "Loading weights" not in text and "it/s]" not in text
