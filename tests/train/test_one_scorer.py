"""One scorer, one truncation: in-training evaluation (`flame.train.score`) and the HF rater that `flame eval`
rates with (`flame.raters.hf`) give the same label probabilities, causal and seq2seq, on tiny random models
whose logits are sharpened (label probabilities from 1e-13 to 0.99999, as a trained judge's).

Tolerances, with what was measured here (CPU, torch 2, transformers 5):
* fp32, in-training vs rater: ``FP32_TOL`` = 1e-5 of P (measured: bit-identical; both run
  `flame.scoring.LabelScorer`, with different batch sizes here). Against an unpadded, unbatched forward:
  1e-5 of P and ``LOGIT_TOL`` = 1e-3 on log-prob margins (measured ≤ 5e-6).
* bf16: training evaluates fp32 weights under bf16 autocast; the rater's ``autocast`` dtype is the same
  computation (FP32_TOL; measured bit-identical). Autocast against fp32: ``AUTOCAST_TOL`` = 0.01 of P
  (measured ≤ 0.0023). The rater's ``bf16`` dtype (bf16 weights, its default where bf16 is native) against
  in-training autocast: ``BF16_TOL`` = 0.05 of P (measured ≤ 0.024 causal, 0.012 seq2seq).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import train_toys as toys

from flame.format import render_input, render_label_prefix
from flame.raters import load_rater
from flame.scoring import LabelScorer, label_ids
from flame.train.score import label_probs
from flame.truncation import STRATEGIES, TRUNCATION_MARKER, cut_middle, fit_example, fit_ids
from flame.types import Example, TaskType

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

FP32_TOL = 1e-5
LOGIT_TOL = 1e-3
AUTOCAST_TOL = 0.01
BF16_TOL = 0.05
MAX_LENGTH = 96  # small enough that the long examples below are truncated


def _ex(i: int, task_type: TaskType, inputs: dict, labels: tuple[str, ...], answer: str) -> Example:
    return Example(
        task=f"test/{task_type.value}",
        task_type=task_type,
        title="Judge it.",
        description=f"Answer one of {', '.join(labels)}.",
        inputs=inputs,
        targets={"answer": answer},
        labels=labels,
        id=str(i),
    )


def examples() -> list[Example]:
    """One-token labels, labels sharing a prefix token (" 4" is " " + "4" in SmolLM2), multi-token labels of
    different lengths, an empty field, and two rows over ``MAX_LENGTH`` (one in a field, one in a long
    instruction alone)."""
    pair = TaskType.PAIRWISE
    long = "start " + "filler words here " * 80 + " end"
    return [
        _ex(
            0, pair, {"prompt": "Say hi.", "response A": "Hello!", "response B": "Go away."}, ("A", "B"), "A"
        ),
        _ex(1, pair, {"prompt": "Add.", "response A": "4", "response B": ""}, ("A", "B", "tie"), "tie"),
        _ex(2, TaskType.POINTWISE, {"response": "Rain is water."}, ("1", "2", "3", "4", "5"), "4"),
        _ex(
            3,
            TaskType.CLASSIFICATION,
            {"premise": "A cat sleeps.", "hypothesis": "An animal rests."},
            ("entailment", "neutral", "contradiction"),
            "entailment",
        ),
        _ex(4, pair, {"prompt": "Summarise.", "response A": long, "response B": "short"}, ("A", "B"), "B"),
        _ex(5, TaskType.CLASSIFICATION, {"claim": long[:400]}, ("Yes", "No"), "No"),
    ]


def _sharpen(model, final_norm, out, tokenizer_dir, gain: float = 50):
    """The last norm's gain ×50, so the logits are ×50: a random tiny model's label probabilities are all but
    uniform, which would hide any disagreement; these span 1e-13 to 0.99999 (a trained judge's are as sharp)."""
    with torch.no_grad():
        final_norm.weight.mul_(gain)
    model.save_pretrained(out)
    transformers.AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def sharp_causal(tiny_model, tokenizer_dir, tmp_path_factory):
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model)
    return _sharpen(model, model.model.norm, tmp_path_factory.mktemp("sharp-llama"), tokenizer_dir)


@pytest.fixture(scope="module")
def sharp_t5(tokenizer_dir, tmp_path_factory):
    tok = transformers.AutoTokenizer.from_pretrained(tokenizer_dir)
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
    model = transformers.T5ForConditionalGeneration(config)
    return _sharpen(
        model, model.decoder.final_layer_norm, tmp_path_factory.mktemp("sharp-t5"), tokenizer_dir, 3
    )


@pytest.fixture(params=["causal", "seq2seq"])
def folder(request):
    return request.getfixturevalue("sharp_causal" if request.param == "causal" else "sharp_t5")


def _training_side(folder):
    """The model and tokenizer as training holds them (`flame.train.base.load_model`)."""
    from flame.train.base import load_model
    from flame.train.config import ModelConfig

    model, tokenizer, is_seq2seq = load_model(ModelConfig(base=str(folder), dtype="fp32"), for_training=False)
    return model, tokenizer, is_seq2seq


def _reference(model, tokenizer, ex: Example, is_seq2seq: bool) -> list[float]:
    """Summed label log-probs from an unbatched, unpadded forward per label (no mask), same truncation."""
    logps = []
    for lab in ex.labels:
        lab_ids = tokenizer(" " + lab, add_special_tokens=False).input_ids
        with torch.no_grad():
            if is_seq2seq:
                _, enc, _ = fit_ids(ex, tokenizer, render_input, MAX_LENGTH)
                head_text = render_label_prefix(ex)[len(render_input(ex)) :].lstrip()
                head = tokenizer(head_text, add_special_tokens=False).input_ids
                labels = torch.tensor([head + lab_ids])
                logits = model(input_ids=torch.tensor([enc]), labels=labels).logits[0]
                logp = torch.log_softmax(logits.float(), -1)
                logps.append(sum(logp[len(head) + n, t].item() for n, t in enumerate(lab_ids)))
            else:
                common, rest = label_ids(tokenizer, ex.labels)
                budget = MAX_LENGTH - len(common) - max(len(t) for t in rest)
                _, prefix, _ = fit_ids(ex, tokenizer, render_label_prefix, budget)
                ids = torch.tensor([prefix + lab_ids])
                logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
                logps.append(sum(logp[len(prefix) - 1 + n, t].item() for n, t in enumerate(lab_ids)))
    return logps


def test_in_training_scores_equal_rater_scores_in_fp32(folder):
    model, tokenizer, is_seq2seq = _training_side(folder)
    exs = examples()
    # Different batch sizes: padding and batch composition must not matter.
    trained = label_probs(model, tokenizer, exs, max_length=MAX_LENGTH, batch_size=2)
    rater = load_rater(f"hf:{folder}", dtype="fp32", max_length=MAX_LENGTH, batch_size=5)
    assert rater.is_seq2seq == is_seq2seq
    rated = rater.judge(exs)
    assert [j.truncated for j in rated] == [False, False, False, False, True, True]
    assert max(max(j.probs.values()) for j in rated) > 0.9  # not a near-uniform toy: disagreement would show
    for ex, p, j in zip(exs, trained, rated, strict=True):
        assert list(p) == list(ex.labels)
        assert p == pytest.approx(j.probs, abs=FP32_TOL), ex.id
        # Both equal an unpadded, unbatched forward: right padding without a mask reads what no padding does.
        reference = _reference(model, tokenizer, ex, is_seq2seq)
        probs = torch.softmax(torch.tensor(reference, dtype=torch.float64), 0).tolist()
        assert list(j.probs.values()) == pytest.approx(probs, abs=FP32_TOL), ex.id
        # Log-prob margins too (tiny probabilities hide in the above): equal up to fp32 rounding of logits
        # that reach ±100 here. The reference's summed log-probs include the shared prefix (" " of " 4").
        got = list(j.metadata["logprobs"].values())
        assert [v - got[0] for v in got] == pytest.approx(
            [v - reference[0] for v in reference], abs=LOGIT_TOL
        )


def test_in_training_scores_under_bf16_autocast(folder):
    model, tokenizer, _ = _training_side(folder)
    exs = examples()

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16)

    trained = label_probs(model, tokenizer, exs, max_length=MAX_LENGTH, batch_size=2, autocast=autocast)
    fp32 = label_probs(model, tokenizer, exs, max_length=MAX_LENGTH, batch_size=2)
    same = load_rater(f"hf:{folder}", dtype="autocast", max_length=MAX_LENGTH, batch_size=5).judge(exs)
    bf16 = load_rater(f"hf:{folder}", dtype="bf16", max_length=MAX_LENGTH, batch_size=5).judge(exs)
    for p, q, a, b in zip(trained, fp32, same, bf16, strict=True):
        assert p == pytest.approx(a.probs, abs=FP32_TOL)  # the same computation: fp32 weights, bf16 autocast
        assert p == pytest.approx(q, abs=AUTOCAST_TOL)  # bf16 autocast against fp32
        assert p == pytest.approx(b.probs, abs=BF16_TOL)  # bf16 weights: rounded once more


@pytest.mark.parametrize("kind", ["causal", pytest.param("seq2seq", marks=pytest.mark.slow)])
def test_training_eval_metrics_equal_rating_the_saved_model(kind, toy_registry, tmp_path, request):
    """End to end: the eval line `flame train` logs at its last step is what rating its final/ model gives."""
    from flame.data.collection import load_examples
    from flame.train.config import RunConfig, from_dict
    from flame.train.recipe import train

    name = toys.CLASSIFICATION
    cfg = from_dict(
        RunConfig,
        {
            "run_dir": str(tmp_path / "run"),
            "model": {
                "base": str(request.getfixturevalue(f"sharp_{'t5' if kind == 'seq2seq' else kind}")),
                "dtype": "fp32",
                "dropout": 0.0,
            },
            "data": {"mixture": toys.TOY_MIXTURE, "max_length": 64, "decontaminate": False},
            "optim": {"lr": 1e-3, "warmup_steps": 1},
            "train": {"steps": 2, "batch_size": 2, "micro_batch_size": 2, "save_every": 0, "progress": False},
            "eval": {"every": 0, "held_in": [name], "n": 6, "batch_size": 4},
        },
    )
    train(cfg)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = [x for x in lines if "eval" in x][-1]["eval"][f"dev/{name}"]
    exs = load_examples(name, "dev", limit=6, seed=cfg.train.seed)
    rater = load_rater(f"hf:{tmp_path / 'run' / 'final'}", dtype="fp32", max_length=64, batch_size=3)
    judgments = rater.judge(exs)
    assert logged["n"] == len(exs) == 6
    gold = sum(j.probs[ex.answer] for ex, j in zip(exs, judgments, strict=True)) / len(exs)
    accuracy = sum(j.prediction == ex.answer for ex, j in zip(exs, judgments, strict=True)) / len(exs)
    assert logged["prob"] == pytest.approx(gold, abs=FP32_TOL)
    assert logged["accuracy"] == accuracy


def test_a_lora_model_in_training_scores_like_its_merged_weights_rated(sharp_causal, tmp_path):
    """A LoRA run evaluates through the PEFT wrapper: the fp32 head is found through its base model (the
    wrapper's own ``.model`` is the whole causal LM, whose output has no hidden state to project)."""
    peft = pytest.importorskip("peft")
    model, tokenizer, _ = _training_side(sharp_causal)
    lora = peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    wrapped = peft.get_peft_model(model, lora)
    exs = examples()
    trained = label_probs(wrapped, tokenizer, exs, max_length=MAX_LENGTH, batch_size=2)
    wrapped.merge_and_unload().save_pretrained(tmp_path / "merged")
    tokenizer.save_pretrained(tmp_path / "merged")
    rated = load_rater(f"hf:{tmp_path / 'merged'}", dtype="fp32", max_length=MAX_LENGTH).judge(exs)
    for p, j in zip(trained, rated, strict=True):
        assert p == pytest.approx(j.probs, abs=FP32_TOL)


# ------------------------------------------------------------------------------------------ truncation


@pytest.fixture(scope="module")
def tok(tokenizer_dir):
    return transformers.AutoTokenizer.from_pretrained(tokenizer_dir)


def test_rater_training_and_scorer_truncate_alike(tiny_model, tok):
    from flame.train import collate

    ex = examples()[4]
    rater = load_rater(f"hf:{tiny_model}", dtype="fp32", max_length=MAX_LENGTH)
    fitted, ids, truncated = rater.fit(ex, render_label_prefix, 80)
    assert truncated and len(ids) <= 80
    assert (fitted, ids) == fit_ids(ex, tok, render_label_prefix, 80)[:2]
    assert collate.fit_example is fit_example  # training's encoders cut with the same function
    text = fitted.inputs["response A"]
    assert text.startswith("start") and text.endswith("end") and TRUNCATION_MARKER in text
    assert fitted.inputs["response B"] == "short" and render_label_prefix(fitted).endswith("answer:")
    # The instructions alone over budget: the ids keep their end, where the answer slot is.
    _, ids, truncated = fit_ids(ex, tok, render_label_prefix, 8)
    assert truncated and len(ids) == 8 and tok.decode(ids).endswith("answer:")


def test_a_truncation_strategy_plugs_in(tiny_model, tok):
    """A strategy is a function (example, excess tokens, tokenizer) -> shorter example | None; the scorer,
    the rater and the training encoders take it (or its name in STRATEGIES)."""

    def drop_longest(ex, excess, tokenizer):
        if not any(ex.inputs.values()):
            return None
        key = max(ex.inputs, key=lambda k: len(ex.inputs[k]))
        return dataclasses.replace(ex, inputs={**ex.inputs, key: ""})

    ex = examples()[4]
    n = len(tok(render_label_prefix(ex)).input_ids)
    short, truncated = fit_example(
        ex, tok, lambda e: len(tok(render_label_prefix(e)).input_ids), n - 1, drop_longest
    )
    assert truncated and short.inputs["response A"] == "" and short.inputs["response B"] == "short"
    assert STRATEGIES["middle"] is cut_middle
    assert fit_ids(ex, tok, render_label_prefix, 80, "middle") == fit_ids(ex, tok, render_label_prefix, 80)
    model, tokenizer, _ = _training_side(tiny_model)
    scorer = LabelScorer(model, tokenizer, max_length=MAX_LENGTH, strategy=drop_longest)
    model.eval()
    (scored,) = scorer([ex])
    assert scored.truncated and len(scored.logprobs) == 2
