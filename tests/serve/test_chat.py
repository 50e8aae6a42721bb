"""POST /v1/chat/completions: OpenAI's response shape, and the direct rater's probabilities through it."""

from __future__ import annotations

import math

import httpx
import pytest
from serve_helpers import CountingRater, settings, tiny_causal_lm

from flame.data.files import load_benchmark_file, write_benchmark_file
from flame.format import render_input, render_label_prefix, render_prompt
from flame.raters.baselines import FakeRater
from flame.serve.app import running_server
from flame.serve.chat import example_from_prompt, parse_flame_prompt
from flame.types import Example, TaskType

PAIRS = [
    {"prompt": "What is 2 + 2?", "response_a": "4", "response_b": "It is 5."},
    {
        "prompt": "Write two lines.\nNote: keep it short.",
        "response_a": "line one\nNote: a colon line\nline two",
        "response_b": "only: one line\nresponse A: quoted",
        "criterion": "Prefer the response that follows the format.",
    },
]
POINTS = [{"prompt": "Say hi.", "response": "Hello!\nscore: 5", "scale": [1, 5]}]
CLASSES = [
    {
        "fields": {"claim": "The sky is green.", "evidence": "The sky is blue.\nsource: a book"},
        "labels": ["supported", "refuted", "not enough info"],
        "instruction": "Does the evidence support the claim?",
    }
]


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    out = []
    for name, rows in (("pairs", PAIRS), ("points", POINTS), ("classes", CLASSES)):
        out += load_benchmark_file(write_benchmark_file(d / f"{name}.jsonl", rows)).examples
    return out


def chat(url, content, **kw):
    body = {"model": "flame", "messages": [{"role": "user", "content": content}], **kw}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)


def probs_from(response_json) -> dict[str, float]:
    """What an OpenAI client computes: the answer token's top_logprobs, exponentiated."""
    entry = response_json["choices"][0]["logprobs"]["content"][0]
    return {t["token"]: math.exp(t["logprob"]) for t in entry["top_logprobs"]}


# ------------------------------------------------------------------------- prompt parsing


@pytest.mark.parametrize("render", [render_input, render_prompt, render_label_prefix])
def test_a_rendered_prompt_parses_back_into_its_example(examples, render):
    for ex in examples:
        back = example_from_prompt(render(ex), ex.labels)
        assert back is not None, ex.id
        assert render_input(back) == render_input(ex)
        assert back.task_type == ex.task_type
        assert back.title == ex.title and back.description == ex.description
        if ex.task_type != TaskType.CLASSIFICATION:  # the benchmark layouts split exactly
            assert back.inputs == ex.inputs


def test_an_ambiguous_context_still_renders_the_same_text():
    """A response holding a line "response B: ..." cannot be split for sure; any split renders the same input,
    so the cache key and a model's scores do not change (only field-reading baselines could notice)."""
    from flame.data.files import _pairwise_example

    ex = _pairwise_example(
        {"prompt": "p", "response_a": "x\nresponse B: y", "response_b": "z"}, "t", 1, False
    )
    back = example_from_prompt(render_prompt(ex), ex.labels)
    assert render_input(back) == render_input(ex)


def test_text_that_is_not_a_flame_prompt_does_not_parse():
    assert parse_flame_prompt("Hello, how are you?") is None
    assert parse_flame_prompt("INSTRUCTIONS:\ntitle: t\n") is None
    assert (
        example_from_prompt(
            "INSTRUCTIONS:\ntitle: t\ndescription: d\noutput_fields: answer\n\nCONTEXT:\nx:  padded ",
            ["a", "b"],
        )
        is None
    )


# ------------------------------------------------------------------- guided choice, any rater


@pytest.fixture(scope="module")
def fake_server():
    with running_server(CountingRater(), settings()) as url:
        yield url


@pytest.mark.parametrize("render", [render_prompt, render_label_prefix, render_input])
def test_guided_choice_gives_the_direct_raters_probabilities(fake_server, examples, render):
    direct = FakeRater().judge(examples)
    for ex, want in zip(examples, direct, strict=True):
        r = chat(fake_server, render(ex), guided_choice=list(ex.labels), logprobs=True, top_logprobs=20)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["message"] == {"role": "assistant", "content": want.prediction}
        assert body["choices"][0]["finish_reason"] == "stop"
        got = probs_from(body)
        assert set(got) == set(ex.labels)
        for label, p in want.probs.items():
            assert got[label] == pytest.approx(p, rel=1e-12)
        assert body["flame"]["probs"] == want.probs


def test_guided_choice_without_logprobs_and_response_shape(fake_server, examples):
    ex = examples[0]
    body = chat(fake_server, render_prompt(ex), guided_choice=["A", "B"]).json()
    assert body["choices"][0]["logprobs"] is None
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert body["id"].startswith("chatcmpl-")


@pytest.mark.parametrize(
    "body, words",
    [
        ({"messages": []}, ["messages"]),
        ({"messages": [{"role": "user"}], "n": 2}, ["n"]),
        ({"messages": [{"role": "user", "content": "hi"}], "stream": True}, ["stream"]),
        ({"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 50}, ["top_logprobs"]),
        ({"messages": [{"role": "user", "content": "hi"}]}, ["no language model", "guided_choice"]),
        ({"messages": [{"role": "user", "content": "hi"}], "guided_choice": ["A", "B"]}, ["FLAMe prompt"]),
        ({"messages": "hi"}, ["messages"]),
    ],
)
def test_chat_requests_it_cannot_answer_get_400(fake_server, body, words):
    r = httpx.post(f"{fake_server}/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    for w in words:
        assert w in r.json()["error"]["message"]


# ----------------------------------------------------------------- a real (tiny) causal LM


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from flame.raters.hf import HFRater

    folder = tiny_causal_lm(tmp_path_factory.mktemp("tinylm"))
    rater = HFRater(f"hf:{folder}", folder, dtype="fp32", max_length=512)
    with running_server(rater, settings()) as url:
        yield url, rater


def test_guided_choice_on_a_model_rater_equals_direct_scoring(tiny, examples):
    url, rater = tiny
    direct = rater.judge(examples)
    for ex, want in zip(examples, direct, strict=True):
        r = chat(url, render_prompt(ex), guided_choice=list(ex.labels), logprobs=True, top_logprobs=20)
        got = probs_from(r.json())
        for label, p in want.probs.items():
            assert got[label] == pytest.approx(p, abs=1e-6)


def unlisted_pair() -> Example:
    """A pairwise example whose instructions name no label space the server could infer."""
    return Example(
        task="t",
        task_type=TaskType.PAIRWISE,
        title="Better?",
        description="Pick one.",
        inputs={"prompt": "What is 2 + 2?", "response A": "4", "response B": "It is 5."},
        targets={},
        labels=("A", "B"),
    )


def test_plain_continuation_reads_the_answer_token_where_the_direct_rater_does(tiny):
    import torch

    url, rater = tiny
    ex = unlisted_pair()  # " A" and " B" are single tokens for this tokenizer
    r = chat(url, render_prompt(ex), logprobs=True, top_logprobs=20, max_tokens=3)
    assert r.status_code == 200, r.text
    assert "flame" not in r.json()  # continued, not judged
    choice = r.json()["choices"][0]
    content = choice["logprobs"]["content"]
    tokens = [t["token"] for t in content]
    assert choice["message"]["content"] == "".join(tokens)
    assert choice["message"]["content"].startswith("answer:")  # forced: the EVALUATION block's answer slot
    n_forced = len(rater.tokenizer(render_label_prefix(ex)).input_ids) - len(
        rater.tokenizer(render_prompt(ex)).input_ids
    )
    answer = content[n_forced]  # the first free token: the answer token
    ids = torch.tensor([rater.tokenizer(render_label_prefix(ex)).input_ids])
    with torch.inference_mode():
        logprobs = torch.log_softmax(rater.model(input_ids=ids).logits[0, -1].float(), -1)
    values, indices = torch.topk(logprobs, 20)
    want = [(rater.tokenizer.decode([i]), v) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]
    assert [t["token"] for t in answer["top_logprobs"]] == [t for t, _ in want]
    assert [t["logprob"] for t in answer["top_logprobs"]] == pytest.approx([v for _, v in want], abs=1e-5)
    # And the direct rater's label scores are those same log-probs.
    direct = rater.judge([ex])[0].metadata["logprobs"]
    for label in ex.labels:
        tok_id = rater.tokenizer(" " + label, add_special_tokens=False).input_ids[0]
        assert direct[label] == pytest.approx(logprobs[tok_id].item(), abs=1e-5)


def test_plain_continuation_of_free_text(tiny):
    url, _ = tiny
    r = chat(url, "Hello there", max_tokens=4, logprobs=True, top_logprobs=2)
    body = r.json()
    assert r.status_code == 200, r.text
    content = body["choices"][0]["logprobs"]["content"]
    assert 1 <= len(content) <= 4 and all(len(t["top_logprobs"]) == 2 for t in content)
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    long = chat(url, "word " * 2000, max_tokens=4)
    assert long.status_code in (400, 413)


# ----------------------------------------------------------- label spaces the prompt implies


def test_the_label_space_is_inferred_for_benchmark_rows_and_registered_tasks(fake_server, examples):
    from flame.data.task import get_task

    direct = FakeRater().judge(examples)
    for ex, want in zip(examples, direct, strict=True):
        r = chat(fake_server, render_prompt(ex), logprobs=True, top_logprobs=5)
        if (
            ex.task_type == TaskType.CLASSIFICATION
        ):  # a file's classification labels appear nowhere in the text
            assert r.status_code == 400 and "guided_choice" in r.json()["error"]["message"]
            continue
        assert r.status_code == 200, r.text
        assert r.json()["flame"]["labels"] == list(ex.labels)
        assert probs_from(r.json()) == pytest.approx(want.probs, rel=1e-12)
    task = get_task("summeval_coherence_pointwise_v1")
    ex = Example(
        task=task.name,
        task_type=task.task_type,
        title=task.title,
        description=task.description,
        inputs={"article": "A text.", "summary": "Text."},
        targets={},
        labels=task.labels,
    )
    r = chat(fake_server, render_prompt(ex), logprobs=True)
    assert r.json()["flame"]["labels"] == list(task.labels)
    assert probs_from(r.json()) == pytest.approx(FakeRater().judge([ex])[0].probs, rel=1e-12)


def test_an_unlisted_prompt_without_a_model_is_refused(fake_server):
    r = chat(fake_server, render_prompt(unlisted_pair()))
    assert r.status_code == 400 and "no language model" in r.json()["error"]["message"]
