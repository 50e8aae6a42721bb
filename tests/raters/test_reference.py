"""Issue 19.2, reference answers: an optional reference renders as the CONTEXT field ``reference answer``
(after the prompt, before the responses), changes the text and the cache key, and is the same judgment through
the Python API, a benchmark-file row and a /v1/judge item. Without one, every text is what it was before."""

from __future__ import annotations

import threading

import httpx
import pytest

from flame.adhoc import REFERENCE_FIELD, REFERENCE_SENTENCE, pairwise_example, pointwise_example
from flame.data.files import load_benchmark_file, write_benchmark_file
from flame.format import render_input
from flame.raters.baselines import FakeRater
from flame.raters.cache import example_key, rater_key
from flame.serve.app import Settings, running_server
from flame.types import score_labels

PROMPT, A, B, REF = "What is 2+2?", "4", "5", "2+2 = 4."
RKEY = rater_key(FakeRater().cache_identity())


class RecordingRater(FakeRater):
    """The fake rater that keeps every Example it was asked to judge."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen: list = []
        self.lock = threading.Lock()

    def _judge_batch(self, examples):
        with self.lock:
            self.seen.extend(examples)
        return super()._judge_batch(examples)


def test_a_pairwise_reference_is_a_context_field_between_prompt_and_responses():
    text = render_input(pairwise_example(PROMPT, A, B, reference=REF))
    context = text.split("CONTEXT:\n", 1)[1].splitlines()
    assert context == [
        f"prompt: {PROMPT}",
        f"{REFERENCE_FIELD}: {REF}",
        f"response A: {A}",
        f"response B: {B}",
    ]
    assert f"{REFERENCE_SENTENCE} Answer 'A' if Response A is better" in text


def test_a_pointwise_reference_is_a_context_field_between_prompt_and_response():
    text = render_input(pointwise_example(PROMPT, A, score_labels(1, 5), reference=REF))
    assert text.split("CONTEXT:\n", 1)[1].splitlines() == [
        f"prompt: {PROMPT}",
        f"{REFERENCE_FIELD}: {REF}",
        f"response: {A}",
    ]
    assert f"{REFERENCE_SENTENCE} Answer with an integer" in text


@pytest.mark.parametrize(
    "build",
    [
        lambda **kw: pairwise_example(PROMPT, A, B, **kw),
        lambda **kw: pointwise_example(PROMPT, A, score_labels(1, 5), **kw),
    ],
    ids=["pairwise", "pointwise"],
)
def test_without_a_reference_nothing_changes_and_with_one_the_key_does(build):
    plain, none, ref = build(), build(reference=None), build(reference=REF)
    assert render_input(plain) == render_input(none)
    assert REFERENCE_FIELD not in render_input(plain) and REFERENCE_SENTENCE not in render_input(plain)
    assert render_input(ref) != render_input(plain)
    assert example_key(RKEY, ref) != example_key(RKEY, plain)
    assert example_key(RKEY, ref) != example_key(RKEY, build(reference="2+2 = 5."))


def test_the_reference_sentence_follows_a_criterion_too():
    ex = pairwise_example(PROMPT, A, B, criterion="Prefer the correct answer.", reference=REF)
    assert ex.description.startswith(f"Prefer the correct answer. {REFERENCE_SENTENCE} Answer 'A'")


def test_an_empty_reference_is_an_error_not_a_silent_absence():
    with pytest.raises(ValueError, match="reference answer is empty"):
        pairwise_example(PROMPT, A, B, reference="  ")


def test_the_api_passes_the_reference_and_keeps_old_ids_without_one():
    rater = RecordingRater()
    rater.compare(PROMPT, A, B)
    rater.compare(PROMPT, A, B, reference=REF)
    rater.score(PROMPT, A, reference=REF)
    plain, with_ref, scored = rater.seen
    assert REFERENCE_FIELD not in plain.inputs
    assert with_ref.inputs[REFERENCE_FIELD] == REF and scored.inputs[REFERENCE_FIELD] == REF
    assert plain.id != with_ref.id


def test_swapping_a_pair_keeps_the_reference_before_both_responses():
    rater = RecordingRater(swap=True)
    rater.compare(PROMPT, A, B, reference=REF)
    for ex in rater.seen:
        assert list(ex.inputs) == ["prompt", REFERENCE_FIELD, "response A", "response B"]
    assert {ex.inputs["response A"] for ex in rater.seen} == {A, B}


def _same(examples, judgments):
    texts = {render_input(ex) for ex in examples}
    keys = {example_key(RKEY, ex) for ex in examples}
    probs = [j["probs"] if isinstance(j, dict) else j.probs for j in judgments]
    assert len(texts) == 1, texts
    assert REFERENCE_FIELD in next(iter(texts))
    assert len(keys) == 1
    assert all(p == pytest.approx(probs[0], abs=1e-12) for p in probs), probs


def _served(rater, item):
    with running_server(rater, Settings(cache=False)) as url:
        answer = httpx.post(f"{url}/v1/judge", json=item, timeout=30)
    assert answer.status_code == 200, answer.text
    served = answer.json()
    return served["results"][0] if "results" in served else served


@pytest.mark.parametrize("criterion", [None, "Prefer the correct answer."], ids=["default", "criterion"])
def test_a_pair_with_a_reference_is_the_same_judgment_on_every_path(tmp_path, criterion):
    rater = RecordingRater()
    api = rater.compare(PROMPT, A, B, criterion=criterion, reference=REF)
    row = {"id": "r1", "prompt": PROMPT, "response_a": A, "response_b": B, "reference": REF}
    item = {"type": "pairwise", "prompt": PROMPT, "response_a": A, "response_b": B, "reference": REF}
    if criterion:
        row["criterion"] = item["criterion"] = criterion
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "pairs.jsonl", [row]))
    assert not loaded.problems
    file_j = rater.judge(loaded.examples)[0]
    served = _served(rater, item)
    assert len(rater.seen) == 3
    _same(rater.seen, [api, file_j, served])


def test_a_rating_with_a_reference_is_the_same_judgment_on_every_path(tmp_path):
    rater = RecordingRater()
    api = rater.score(PROMPT, A, scale=(0, 100), reference=REF)
    row = {"id": "s", "prompt": PROMPT, "response": A, "scale": [0, 100], "reference": REF}
    loaded = load_benchmark_file(write_benchmark_file(tmp_path / "p.jsonl", [row]))
    assert not loaded.problems
    file_j = rater.judge(loaded.examples)[0]
    served = _served(
        rater, {"type": "pointwise", "prompt": PROMPT, "response": A, "scale": [0, 100], "reference": REF}
    )
    _same(rater.seen, [api, file_j, served])


@pytest.fixture(scope="module")
def tiny_text_to_text(smollm2_tokenizer_dir, tmp_path_factory):
    """A tiny random Llama over SmolLM2's tokenizer (as tests/raters/test_hf_tiny.py builds it)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
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
    out = tmp_path_factory.mktemp("tiny") / "model"
    transformers.LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.mark.slow
def test_a_text_to_text_model_reads_the_reference_on_every_path(tiny_text_to_text, tmp_path):
    from flame.raters import load_rater

    rater = load_rater(f"hf:{tiny_text_to_text}", dtype="fp32")
    plain = rater.compare(PROMPT, A, B)
    api = rater.compare(PROMPT, A, B, reference=REF)
    assert api.probs["A"] != pytest.approx(plain.probs["A"], abs=1e-9)  # the model saw another text
    row = {"id": "r", "prompt": PROMPT, "response_a": A, "response_b": B, "reference": REF}
    file_ex = load_benchmark_file(write_benchmark_file(tmp_path / "pairs.jsonl", [row])).examples[0]
    assert rater.judge([file_ex])[0].probs == pytest.approx(api.probs, abs=1e-6)
    rated = rater.score(PROMPT, A, reference=REF)
    assert sum(rated.probs.values()) == pytest.approx(1.0) and rated.expected_score is not None


@pytest.mark.model
def test_smollm2_judges_with_a_reference_through_the_api_and_the_service():
    pytest.importorskip("torch")
    from flame.raters import load_rater
    from flame.raters.models import smollm2_gguf

    try:
        smollm2_gguf()
    except Exception as e:  # the package is an install-time choice
        pytest.skip(str(e))
    rater = load_rater("smollm2", batch_size=2)
    question, right, wrong = "What is 17 * 3?", "17 * 3 = 51.", "17 * 3 = 41."
    api = rater.compare(question, wrong, right, reference="51")
    assert sum(api.probs.values()) == pytest.approx(1.0) and not api.parse_failure
    assert api.probs != pytest.approx(rater.compare(question, wrong, right).probs, abs=1e-9)
    item = {
        "type": "pairwise",
        "prompt": question,
        "response_a": wrong,
        "response_b": right,
        "reference": "51",
    }
    served = _served(rater, item)
    assert served["probs"] == pytest.approx(api.probs, abs=1e-4)
