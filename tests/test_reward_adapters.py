"""flame.rewards (issue 19.1): a judge as TRL's ``reward_funcs`` callable and as verl's custom reward function,
called as those trainers call them, with a rater in the process and through a loopback `flame serve`."""

from __future__ import annotations

import importlib.util

import pytest

import flame.rewards
from flame.raters.baselines import FakeRater, LengthRater
from flame.rewards import RewardFunction, completion_text, message_text
from flame.serve.app import Settings, running_server

LONG, SHORT = "x" * 900, "y" * 10  # the length rater: rewards 0.5 and 0


@pytest.fixture(scope="module")
def server():
    with running_server(LengthRater(), Settings(cache=False)) as url:
        yield url


def trl_call(reward_func, prompts, completions, **columns):
    """How TRL's GRPOTrainer calls a reward function: keywords, with the dataset's other columns."""
    return reward_func(
        prompts=prompts, completions=completions, completion_ids=[[0]] * len(prompts), **columns
    )


def test_trl_standard_format_gets_one_float_per_completion():
    f = RewardFunction("length")
    rewards = trl_call(f, ["Write long.", "Write short."], [LONG, SHORT], ground_truth=["a", "b"])
    assert rewards == [0.5, 0.0] and all(isinstance(r, float) for r in rewards)
    assert f.__name__ == "flame_reward"  # TRL logs rewards/<__name__>


def test_trl_conversational_format_reads_the_messages():
    prompts = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 2?"}]
    ] * 2
    completions = [[{"role": "assistant", "content": LONG}], [{"role": "assistant", "content": SHORT}]]
    assert trl_call(RewardFunction("length"), prompts, completions) == [0.5, 0.0]
    assert message_text(prompts[0]) == "system: Be brief.\nuser: What is 2 + 2?"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "4"}]}]) == "4"
    with pytest.raises(TypeError, match="messages"):
        message_text(3)


def test_a_url_calls_flame_serve_and_gets_what_the_rater_gives_in_process(server):
    prompts, completions = ["Write long.", "Write short."], [LONG, SHORT]
    remote = RewardFunction(server)
    assert remote.url == f"{server}/get_reward"
    assert trl_call(remote, prompts, completions) == trl_call(
        RewardFunction(LengthRater()), prompts, completions
    )
    assert trl_call(RewardFunction(server, normalize=True), prompts, completions) == [1.0, -1.0]
    remote.close()


def test_a_refusal_of_the_server_is_an_error_that_quotes_it(server):
    with pytest.raises(RuntimeError, match="HTTP 413"):
        RewardFunction(server)(["p"] * 65, ["r"] * 65)  # over the default limit of 64 items


def test_in_process_rewards_match_the_service_for_the_same_pair():
    from fastapi.testclient import TestClient

    from flame.serve.app import create_app

    with TestClient(create_app(FakeRater(), Settings(cache=False))) as c:
        served = c.post("/get_reward", json={"query": ["Hi.Hello!"], "prompts": ["Hi."]}).json()["rewards"]
    assert RewardFunction(FakeRater())(["Hi."], ["Hello!"]) == served


def test_a_reward_head_is_used_when_the_rater_has_one():
    class Head(FakeRater):
        def reward_scores(self, pairs):
            return [len(r) - 2.0 for _, r in pairs]

    assert RewardFunction(Head())(["p", "p"], ["abcd", "a"]) == [2.0, -1.0]


def load_by_path(name: str):
    """As verl loads ``custom_reward_function.path`` / ``.name``: the file as a module of its own."""
    spec = importlib.util.spec_from_file_location("custom_module", flame.rewards.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_verl_loads_compute_score_by_file_path_and_calls_it_with_keywords(monkeypatch):
    monkeypatch.delenv("FLAME_REWARD_RATER", raising=False)  # the default: the length baseline
    compute_score = load_by_path("compute_score")
    kw = {"data_source": "openai/gsm8k", "ground_truth": "4"}
    assert compute_score(solution_str=LONG, extra_info={"question": "Write long."}, **kw) == 0.5
    assert compute_score(solution_str=SHORT, extra_info=None, **kw) == 0.0
    # A templated text without a prompt in extra_info is split at its assistant marker.
    assert compute_score(solution_str="\n\nHuman: hi\n\nAssistant: " + LONG, **kw) == 0.5


def test_verl_reaches_a_flame_server_named_by_the_environment(server, monkeypatch):
    monkeypatch.setenv("FLAME_REWARD_RATER", server)
    compute_score = load_by_path("compute_score")
    assert compute_score("src", LONG, None, {"prompt": "Write long."}) == 0.5
    batch = load_by_path("compute_score_batch")
    assert batch(["a", "b"], [LONG, SHORT], [None, None], [{"prompt": "p"}, {}]) == [0.5, 0.0]


def test_verl_pair_reads_the_prompt_from_extra_info_in_either_format():
    assert flame.rewards.verl_pair("4", {"prompt": [{"role": "user", "content": "2+2?"}]}) == (
        "user: 2+2?",
        "4",
    )
    assert flame.rewards.verl_pair("4", {"index": 3}) == ("", "4")
