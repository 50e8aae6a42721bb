"""A FLAMe judge as the reward of an RL trainer: TRL's ``reward_funcs`` and verl's custom reward function.

    from flame.rewards import RewardFunction
    trainer = GRPOTrainer(..., reward_funcs=[RewardFunction("run:out/demo/runs/flame_mini")])
    trainer = GRPOTrainer(..., reward_funcs=[RewardFunction("http://127.0.0.1:8080")])  # a `flame serve`

verl (``custom_reward_function.path=<this file> custom_reward_function.name=compute_score``; the judge is
``FLAME_REWARD_RATER``, a rater spec or a ``flame serve`` URL, default ``length``, a model-free baseline that
only proves the wiring):

    FLAME_REWARD_RATER=http://127.0.0.1:8080 python -m verl.trainer.main_ppo ... \\
        custom_reward_function.path=$(python -c 'import flame.rewards as m; print(m.__file__)') \\
        custom_reward_function.name=compute_score

The reward is the one ``POST /get_reward`` gives (`flame.serve.rewards`): a reward head's r(x) where the rater
has one (the encoder judge), else the expected 1–5 pointwise score mapped to [0, 1].
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

from flame.serve.rewards import pointwise_reward, reward_body, reward_examples, split_at_marker

DEFAULT_REWARD_RATER = "length"
RATER_ENV = "FLAME_REWARD_RATER"
# Keys of verl's extra_info (and of TRL's dataset columns) that may hold the prompt a response answers.
PROMPT_KEYS = ("prompt", "question", "query", "problem")


def message_text(value: Any) -> str:
    """A TRL prompt or completion as text: a string as is; a conversation (list of {role, content}) as
    ``role: content`` lines, the form `flame.serve.rewards.readable_prompt` gives a templated prompt."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list) and all(isinstance(m, dict) and "content" in m for m in value):
        return "\n".join(f"{m.get('role', 'user')}: {content_text(m['content'])}" for m in value)
    raise TypeError(
        f"expected a string or a list of {{'role', 'content'}} messages, not {type(value).__name__}"
    )


def completion_text(value: Any) -> str:
    """A completion's text: a conversational completion is its messages' contents, without role names."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list) and all(isinstance(m, dict) and "content" in m for m in value):
        return "\n".join(content_text(m["content"]) for m in value)
    raise TypeError(
        f"expected a string or a list of {{'role', 'content'}} messages, not {type(value).__name__}"
    )


def content_text(content: Any) -> str:
    """A message's content: a string, or OpenAI-style parts ``[{"type": "text", "text": ...}]`` joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


class RewardFunction:
    """Rewards for (prompt, response) pairs from a rater (a spec or an object) or a ``flame serve`` URL.

    Called as TRL calls ``reward_funcs``: ``f(prompts=[...], completions=[...], **columns) -> list[float]``,
    in the standard (strings) or conversational (lists of messages) format. ``normalize`` z-scores each call's
    rewards (mean 0, deviation 1), as ``"normalize": true`` does on the server."""

    def __init__(
        self,
        rater: Any = DEFAULT_REWARD_RATER,
        *,
        normalize: bool = False,
        timeout: float = 120.0,
        api_key: str | None = None,
        **rater_options: Any,
    ):
        self.normalize = normalize
        self.url: str | None = None
        self.rater = None
        if isinstance(rater, str) and rater.startswith(("http://", "https://")):
            base = rater.rstrip("/")
            self.url = base if base.endswith("/get_reward") else f"{base}/get_reward"
            self.timeout = timeout
            self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            self._client = None
        elif isinstance(rater, str):
            from flame.raters import load_rater

            self.rater = load_rater(rater, **rater_options)
        else:
            self.rater = rater
        # TRL logs each reward function under its __name__ (rewards/<name>).
        self.__name__ = "flame_reward"

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts for {len(completions)} completions")
        pairs = [(message_text(p), completion_text(c)) for p, c in zip(prompts, completions, strict=True)]
        return self.score_pairs(pairs)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """One reward per (prompt, response), in order."""
        if not pairs:
            return []
        if self.url is not None:
            return self._remote(pairs)
        if callable(getattr(self.rater, "reward_scores", None)):
            scores: list[float | None] = [float(s) for s in self.rater.reward_scores(list(pairs))]
            kind = "reward_head"
        else:
            judgments = self.rater.judge(reward_examples(pairs))
            scores, kind = [pointwise_reward(j) for j in judgments], "pointwise"
        return reward_body(scores, self.normalize, kind)["rewards"]

    def _remote(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, headers=self.headers)
        # The query is prompt + response and the prompt says where it ends: no template needed.
        body = {
            "query": [p + r for p, r in pairs],
            "prompts": [p for p, _ in pairs],
            "normalize": self.normalize,
        }
        response = self._client.post(self.url, json=body)
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise RuntimeError(f"{self.url}: HTTP {response.status_code}: {message}")
        return [float(r) for r in response.json()["rewards"]]

    def close(self) -> None:
        if self.url is not None and self._client is not None:
            self._client.close()
            self._client = None


@functools.lru_cache(maxsize=4)
def reward_function(spec: str) -> RewardFunction:
    """One `RewardFunction` per spec per process: verl calls `compute_score` once per sample."""
    return RewardFunction(spec)


def verl_pair(solution_str: str, extra_info: Any) -> tuple[str, str]:
    """(prompt, response) of a verl sample: the prompt from ``extra_info`` (``prompt``, ``question``, …) when
    the dataset put it there; else the split at a chat-template marker if the text has one; else the text is
    the response (verl passes the decoded response alone) with an empty prompt."""
    if isinstance(extra_info, dict):
        for key in PROMPT_KEYS:
            if extra_info.get(key) is not None:
                return message_text(extra_info[key]), solution_str
    split = split_at_marker(solution_str)
    if split is not None:
        return split[0], split[1]
    return "", solution_str


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any = None, extra_info: Any = None
) -> float:
    """verl's custom reward function: the reward of one response (the judge: ``FLAME_REWARD_RATER``).

    ``data_source`` and ``ground_truth`` are accepted as verl passes them; the judge does not read a reference
    answer."""
    (reward,) = reward_function(os.environ.get(RATER_ENV) or DEFAULT_REWARD_RATER).score_pairs(
        [verl_pair(solution_str, extra_info)]
    )
    return reward


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any],
) -> list[float]:
    """verl's batched form (``reward_model.reward_manager=batch``): one judge call for the whole batch."""
    pairs = [verl_pair(s, e) for s, e in zip(solution_strs, extra_infos, strict=True)]
    return reward_function(os.environ.get(RATER_ENV) or DEFAULT_REWARD_RATER).score_pairs(pairs)
