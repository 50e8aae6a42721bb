"""Rewards for RL trainers: what ``POST /get_reward`` reads, how a query splits, and what a reward is.

The protocol is OpenRLHF's remote reward model, matched against ``openrlhf/cli/serve_rm.py`` (commit 080b54f4)
and the client ``remote_rm_fn`` in ``openrlhf/utils/remote_rm_utils.py`` (commit 07c34b30), which send
``{"query": [...]}`` (each query the full prompt+response text, chat template included) and read ``rewards``.
Newer OpenRLHF versions send ``{"query"|"queries": [...], "prompts": [...], "labels": [...]}`` and read
``rewards``, ``scores`` and ``extra_logs``; both are answered (``scores`` equals ``rewards``).

The split. With ``prompts``, each query must start with its prompt (else 400) and the rest is the response.
Without, the query is split at its last assistant marker of a known chat template (`CHAT_TEMPLATES`: ChatML as
SmolLM2 and Qwen write it, Llama-3, Gemma, and the Anthropic HH ``\\n\\nHuman:``/``\\n\\nAssistant:`` form);
a query with no marker is refused (400), never judged whole as a response. End-of-turn tokens are stripped
from the response, and the prompt's turns are rewritten as ``role: text`` lines for the judge.

The reward, per query:
* a rater with a reward head (``reward_scores``: the encoder judge, ``run:`` of an encoder run) gives its
  score r(x) of the (prompt, response) row: the logit scale on which its pairwise judgment is
  P(A better) = σ(r(A) − r(B)), so differences of rewards are log-odds of preference;
* any other rater judges the response pointwise on the default 1–5 scale (`flame.adhoc.pointwise_example`),
  and the reward is its expected score mapped to [0, 1]: (E − 1) / 4.
A judgment that failed to parse gets the scale's midpoint (0.5; 0 after normalisation, and left out of the
mean and deviation) and is counted in ``parse_failures`` (and ``extra_logs.parse_failure``): reported, not silent.
``"normalize": true`` z-scores the rewards within the request (mean 0, deviation 1; all equal → all 0).

``labels`` (OpenRLHF's reference answers) are checked for length and passed through; no judge reads them yet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flame.adhoc import pointwise_example
from flame.types import Example, Judgment, score_labels

REWARD_LABELS = score_labels(1, 5)
QUERY_KEYS = ("query", "queries")  # the first OpenRLHF servers read "query"; some clients send "queries"
BODY_KEYS = frozenset({*QUERY_KEYS, "prompts", "labels", "normalize"})


class RewardRequestError(ValueError):
    """A /get_reward body the service refuses; ``status`` 400, or 413 for a limit."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ChatTemplate:
    """One chat template's assistant marker (where a response starts), role headers and end tokens."""

    name: str
    assistant: str  # the last occurrence starts the response
    role_header: re.Pattern  # group 1: the role name, in the prompt's turns
    end_tokens: tuple[str, ...]  # stripped from the response's end and from the prompt


CHAT_TEMPLATES = (
    ChatTemplate(
        "chatml",
        "<|im_start|>assistant\n",
        re.compile(r"<\|im_start\|>(\w+)\n"),
        ("<|im_end|>", "<|endoftext|>"),
    ),
    ChatTemplate(
        "llama3",
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n\n"),
        ("<|eot_id|>", "<|end_of_text|>", "<|begin_of_text|>"),
    ),
    ChatTemplate(
        "gemma",
        "<start_of_turn>model\n",
        re.compile(r"<start_of_turn>(\w+)\n"),
        ("<end_of_turn>", "<eos>", "<bos>"),
    ),
    # Anthropic HH-RLHF: "\n\nHuman: ...\n\nAssistant: ..." (the turns already read as role: text).
    ChatTemplate("hh", "\n\nAssistant:", re.compile(r"(?!)"), ()),
)
# Tokens a policy's tokenizer may leave at a response's end (pad and eos included, as serve_rm strips them).
END_TOKENS = tuple(
    dict.fromkeys([t for c in CHAT_TEMPLATES for t in c.end_tokens] + ["</s>", "<pad>", "<|end|>"])
)


def strip_end_tokens(text: str) -> str:
    """``text`` without trailing end-of-turn, eos and pad tokens (repeated) and surrounding whitespace."""
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for token in END_TOKENS:
            if text.endswith(token):
                text = text[: -len(token)].rstrip()
                changed = True
    return text


def readable_prompt(text: str, template: ChatTemplate | None = None) -> str:
    """The prompt part of a query with its template's role headers as ``role: `` and its end tokens gone; a
    trailing assistant header (a prompt rendered with ``add_generation_prompt``) is dropped."""
    for t in CHAT_TEMPLATES:
        if text.endswith(t.assistant):
            text = text[: -len(t.assistant)]
    for t in (template,) if template else CHAT_TEMPLATES:
        text = t.role_header.sub(lambda m: f"{m.group(1)}: ", text)
        for token in t.end_tokens:
            text = text.replace(token, "")
    return text.strip()


def split_at_marker(query: str) -> tuple[str, str, str] | None:
    """(prompt, response, template name) split at the last assistant marker, or None when there is none.

    Where a query holds markers of two templates, the one that occurs last wins: the response follows it."""
    best: tuple[int, ChatTemplate] | None = None
    for t in CHAT_TEMPLATES:
        at = query.rfind(t.assistant)
        if at >= 0 and (best is None or at > best[0]):
            best = (at, t)
    if best is None:
        return None
    at, t = best
    return readable_prompt(query[:at], t), strip_end_tokens(query[at + len(t.assistant) :]), t.name


def split_query(query: str, prompt: str | None) -> tuple[str, str]:
    """(prompt, response) of one query; `RewardRequestError` (400) when it cannot be split."""
    if prompt is not None:
        if not query.startswith(prompt):
            raise RewardRequestError("the query does not start with its prompt")
        return readable_prompt(prompt), strip_end_tokens(query[len(prompt) :])
    split = split_at_marker(query)
    if split is None:
        names = ", ".join(t.name for t in CHAT_TEMPLATES)
        raise RewardRequestError(
            f"no assistant marker of a known chat template ({names}) in the query: send 'prompts' to split "
            "it, or the query with its chat template"
        )
    return split[0], split[1]


@dataclass
class RewardRequest:
    """A parsed /get_reward body: one (prompt, response) per query, in order."""

    pairs: list[tuple[str, str]]
    labels: list[Any] | None
    normalize: bool


def _string_list(body: dict, key: str, n: int | None) -> list[str]:
    value = body[key]
    if not isinstance(value, list):
        raise RewardRequestError(f"{key}: must be a list of strings, not {type(value).__name__}")
    if n is not None and len(value) != n:
        raise RewardRequestError(f"{key}: {len(value)} entries for {n} queries")
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise RewardRequestError(f"{key}[{i}]: must be a string, not {type(v).__name__}")
    return value


def parse_reward_request(body: Any, max_items: int, max_item_chars: int) -> RewardRequest:
    """A /get_reward body → its (prompt, response) pairs; `RewardRequestError` names the field at fault."""
    if not isinstance(body, dict):
        raise RewardRequestError(f"the body must be a JSON object with 'query', not {type(body).__name__}")
    unknown = sorted(set(body) - BODY_KEYS)
    if unknown:
        raise RewardRequestError(
            f"unknown field(s): {', '.join(map(repr, unknown))} (known: {sorted(BODY_KEYS)})"
        )
    keys = [k for k in QUERY_KEYS if k in body]
    if len(keys) != 1:
        raise RewardRequestError("send the texts as 'query' (or 'queries'), one of the two")
    (key,) = keys
    if isinstance(body[key], list) and len(body[key]) > max_items:
        raise RewardRequestError(
            f"{key}: {len(body[key])} queries exceed the limit of {max_items} per request", 413
        )
    queries = _string_list(body, key, None)
    prompts = _string_list(body, "prompts", len(queries)) if body.get("prompts") is not None else None
    labels = body.get("labels")
    if labels is not None and (not isinstance(labels, list) or len(labels) != len(queries)):
        raise RewardRequestError(f"labels: must be a list with one entry per query ({len(queries)})")
    normalize = body.get("normalize", False)
    if not isinstance(normalize, bool):
        raise RewardRequestError("normalize: must be true or false")
    pairs = []
    for i, query in enumerate(queries):
        if len(query) > max_item_chars:
            raise RewardRequestError(
                f"{key}[{i}]: {len(query)} characters, over the limit of {max_item_chars}", 413
            )
        try:
            pairs.append(split_query(query, prompts[i] if prompts else None))
        except RewardRequestError as e:
            raise RewardRequestError(f"{key}[{i}]: {e}") from None
    return RewardRequest(pairs, labels, normalize)


def reward_examples(pairs: Sequence[tuple[str, str]]) -> list[Example]:
    """The pointwise examples a rater judges (default instruction, 1–5 scale): one per (prompt, response)."""
    return [
        pointwise_example(prompt, response, REWARD_LABELS, task="reward", id=str(i))
        for i, (prompt, response) in enumerate(pairs)
    ]


def pointwise_reward(judgment: Judgment) -> float | None:
    """(E − 1) / 4 of the expected 1–5 score, in [0, 1]; None when the judgment has no score."""
    e = judgment.expected_score
    if judgment.parse_failure or e is None or not math.isfinite(e):
        return None
    return min(1.0, max(0.0, (e - 1.0) / 4.0))


def normalized(rewards: Sequence[float | None]) -> list[float]:
    """z-scores within the request over the rewards that exist; missing ones (and all-equal sets) get 0."""
    known = [r for r in rewards if r is not None]
    if not known:
        return [0.0] * len(rewards)
    mean = sum(known) / len(known)
    std = math.sqrt(sum((r - mean) ** 2 for r in known) / len(known))
    return [0.0 if r is None or std < 1e-12 else (r - mean) / std for r in rewards]


def reward_body(rewards: Sequence[float | None], normalize: bool, kind: str) -> dict[str, Any]:
    """The answer: ``rewards`` (= ``scores``), and ``extra_logs`` of one number per query, as OpenRLHF logs them
    (``parse_failure`` 1/0, ``raw_reward`` before normalisation); ``reward`` names the kind, ``parse_failures``
    counts the failures."""
    raw = [0.5 if r is None else r for r in rewards]
    out = normalized(rewards) if normalize else raw
    return {
        "rewards": out,
        "scores": out,
        "extra_logs": {"parse_failure": [float(r is None) for r in rewards], "raw_reward": raw},
        "reward": kind,
        "normalized": normalize,
        "parse_failures": sum(r is None for r in rewards),
    }
