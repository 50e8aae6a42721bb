"""HF raters on a tiny random Llama (SmolLM2's tokenizer, 2 layers of width 32): fast, no training needed."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from rater_examples import nli, pair, point

from flame.format import render_label_prefix
from flame.raters import load_rater
from flame.raters.runner import rate
from flame.types import Example, TaskType

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_dir(smollm2_tokenizer_dir, tmp_path_factory) -> Path:
    """A tiny random Llama over SmolLM2's tokenizer, prepared from the packaged GGUF (tests/conftest.py)."""
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
    out = tmp_path_factory.mktemp("tiny") / "model"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def brute_force_probs(rater, ex: Example) -> dict[str, float]:
    """Unbatched, unpadded: log P(" " + label | prefix) from one full forward per label."""
    prefix = rater._encode(render_label_prefix(ex))
    scores = []
    for lab in ex.labels:
        lab_ids = rater._encode(" " + lab, special=False)
        ids = torch.tensor([prefix + lab_ids])
        with torch.no_grad():
            logp = torch.log_softmax(rater.model(input_ids=ids).logits[0].float(), -1)
        scores.append(sum(logp[len(prefix) - 1 + n, t].item() for n, t in enumerate(lab_ids)))
    probs = torch.softmax(torch.tensor(scores), 0).tolist()
    return dict(zip(ex.labels, probs, strict=False))


def test_scores_match_brute_force_and_batching(tiny_dir):
    r = load_rater(f"hf:{tiny_dir}", dtype="fp32", batch_size=3)
    exs = [
        pair(0, "Hello!", "Go away."),
        pair(1, "A much longer answer " * 5, "x", tie=True),
        point(2, "Rain is water."),
        nli(3, "A cat sleeps.", "An animal rests."),
        pair(4, "", "empty A"),
    ]
    batched = r.judge(exs)
    one_by_one = [r.judge([ex])[0] for ex in exs]
    for ex, j, k in zip(exs, batched, one_by_one, strict=False):
        expect = brute_force_probs(r, ex)
        assert sum(j.probs.values()) == pytest.approx(1.0)
        assert j.probs == pytest.approx(expect, abs=1e-4), ex.id
        assert j.probs == pytest.approx(k.probs, abs=1e-4)
    assert batched[2].expected_score == pytest.approx(sum(int(k) * p for k, p in batched[2].probs.items()))


def test_bf16_agrees_with_fp32(tiny_dir):
    exs = [pair(i, "yes " * i, "no " * (5 - i)) for i in range(5)]
    fp32 = load_rater(f"hf:{tiny_dir}", dtype="fp32").judge(exs)
    bf16 = load_rater(f"hf:{tiny_dir}", dtype="bf16").judge(exs)
    for a, b in zip(fp32, bf16, strict=False):
        assert a.probs["A"] == pytest.approx(b.probs["A"], abs=0.02)


def test_bf16_rater_projects_label_logits_in_fp32(tiny_dir, tmp_path):
    # Large logits (a sharpened head): bf16 rounds them in steps of 1/8 to 1/4, which would tie labels.
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_dir)
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone() * 200)
    model.save_pretrained(tmp_path / "sharp")
    shutil.copy(tiny_dir / "tokenizer.json", tmp_path / "sharp")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_dir / name).exists():
            shutil.copy(tiny_dir / name, tmp_path / "sharp")
    r = load_rater(f"hf:{tmp_path / 'sharp'}", dtype="bf16")
    ids = torch.tensor([r._encode(render_label_prefix(pair(0, "Hello there.", "Go away.")))])
    keep = torch.tensor([ids.shape[1] - 1])
    with torch.inference_mode():
        logits = r._label_logits(ids, keep)[0, 0]
        hidden = r.model.model(input_ids=ids).last_hidden_state[0, -1].double()
        exact = hidden @ r.model.lm_head.weight.double().T
        rounded = r.model(input_ids=ids).logits[0, -1].double()
    assert logits.dtype == torch.float32
    assert (logits.double() - exact).abs().max().item() < 1e-3
    assert (rounded - exact).abs().max().item() > 1e-2  # what the plain bf16 forward would have read


def test_overlong_input_is_truncated_in_the_middle_and_flagged(tiny_dir):
    r = load_rater(f"hf:{tiny_dir}", dtype="fp32", max_length=160)
    long = pair(0, "start " + "filler words here " * 300 + " end", "short answer")
    fitted, ids, truncated = r.fit(long, render_label_prefix, 159)
    assert truncated and len(ids) <= 159
    assert fitted.inputs["response A"].startswith("start") and fitted.inputs["response A"].endswith("end")
    assert "…" in fitted.inputs["response A"] and fitted.inputs["response B"] == "short answer"
    assert render_label_prefix(fitted).endswith("answer:")
    js = r.judge([long, pair(1, "a", "b")])
    assert js[0].truncated and not js[1].truncated and sum(js[0].probs.values()) == pytest.approx(1.0)


def test_generative_and_explain(tiny_dir):
    r = load_rater(f"hf:{tiny_dir}", dtype="fp32", max_new_tokens=6, explain="after")
    gen = Example(
        task="t/gen",
        task_type=TaskType.GENERATIVE,
        title="Explain",
        description="Explain the rating.",
        inputs={"text": "hi"},
        targets={},
        labels=None,
        output_fields=("explanation",),
    )
    g, p = r.judge([gen, pair(0, "a", "b")])
    assert isinstance(g.raw, str)  # a random model's text: parsed, possibly a parse failure, never a crash
    assert p.prediction in ("A", "B") and "explanation" in p.fields and p.raw.startswith("answer: ")


def test_run_dir_and_cache_key(tiny_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_dir, run / "final")
    r = load_rater(f"run:{run}", dtype="fp32")
    assert r.spec == f"run:{run}" and r.weights_id()
    res = rate([pair(0, "a", "bb"), pair(1, "ccc", "d")], r, cache=tmp_path / "c.db", progress=False)
    assert res.n_judged == 2
    again = rate(
        [pair(0, "a", "bb"), pair(1, "ccc", "d")],
        load_rater(f"run:{run}", dtype="fp32"),
        cache=tmp_path / "c.db",
        progress=False,
    )
    assert again.n_judged == 0
    with pytest.raises(Exception, match="no model folder"):
        load_rater(f"run:{tmp_path / 'missing'}")


def test_swap_records_both_orders(tiny_dir):
    r = load_rater(f"hf:{tiny_dir}", dtype="fp32", swap=True)
    ex = pair(0, "first answer", "second")
    j = r.judge([ex])[0]
    plain = load_rater(f"hf:{tiny_dir}", dtype="fp32")
    ab = plain.judge([ex])[0]
    ba = plain.judge(
        [
            dataclasses.replace(
                ex, inputs={"prompt": "Say hi.", "response A": "second", "response B": "first answer"}
            )
        ]
    )[0]
    assert j.probs["A"] == pytest.approx((ab.probs["A"] + ba.probs["B"]) / 2, abs=1e-5)
    assert j.metadata["orders"]["AB"]["probs"]["A"] == pytest.approx(ab.probs["A"], abs=1e-5)


def test_seq2seq_model_scores_labels(tiny_dir, tmp_path):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_dir)
    torch.manual_seed(0)
    config = transformers.T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_ff=64,
        d_kv=16,
        num_layers=2,
        num_heads=2,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    out = tmp_path / "t5"
    transformers.T5ForConditionalGeneration(config).save_pretrained(out)
    tok.save_pretrained(out)
    r = load_rater(f"hf:{out}", dtype="fp32", batch_size=4)
    assert r.is_seq2seq
    exs = [pair(0, "x", "y"), point(1, "r"), nli(2, "p", "h")]
    batched, single = r.judge(exs), [r.judge([ex])[0] for ex in exs]
    for a, b in zip(batched, single, strict=True):
        assert sum(a.probs.values()) == pytest.approx(1.0)
        assert a.probs == pytest.approx(b.probs, abs=1e-4)
