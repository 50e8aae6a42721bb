"""OpenAI-compatible chat endpoints as raters (``openai:MODEL@BASE_URL``), including `flame serve`.

The FLAME prompt (`render_prompt`) is the user message, temperature 0, and the answer goes through the
project's one parser. When the endpoint returns ``logprobs``/``top_logprobs``, the label probabilities
come from the top alternatives at the answer token; otherwise they are one-hot on the parsed answer
(``metadata["probs_source"]`` says which). Requests run concurrently (bounded), with retries and
exponential backoff on 429, 5xx and connection errors; an endpoint that stays unreachable raises one
`RaterError` after the retries (the runner has already stored every earlier batch).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from collections.abc import Sequence
from typing import Any

from flame.format import RATIONALE_FIELD, explain_after, explain_first, normalize_label, render_prompt
from flame.raters.base import BaseRater, RaterError, judgment_from_text
from flame.types import Example, Judgment

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIRater(BaseRater):
    """``explain``: ``before`` asks for ``explanation, answer`` (the rationale first, the answer and its
    logprobs after it), ``after`` for ``answer, explanation``; one request either way, a reply that cannot be
    parsed is a counted parse failure, never asked again."""

    explains = True

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key_env: str | None = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_tokens: int = 256,
        logprobs: bool = True,
        batch_size: int | None = None,
        **options: Any,
    ):
        super().__init__(**options)
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.spec = f"openai:{model}@{self.base_url}"
        env = api_key_env or "OPENAI_API_KEY"
        self.api_key = os.environ.get(env)
        if api_key_env and not self.api_key:
            raise RaterError(f"{self.spec}: the environment variable {api_key_env} is not set")
        self.concurrency = concurrency or 8
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_tokens = max_tokens
        self.logprobs = logprobs
        self.parse_failures = 0
        self.requests = 0

    def weights_id(self) -> str:
        return self.model  # an API model name is all we can know about its weights

    def scoring_options(self) -> dict[str, Any]:
        return {**super().scoring_options(), "max_tokens": self.max_tokens, "logprobs": self.logprobs}

    def _judge_batch(self, examples: Sequence[Example]) -> list[Judgment]:
        return asyncio.run(self._judge_all(list(examples)))

    async def _judge_all(self, examples: list[Example]) -> list[Judgment]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        sem = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout) as client:

            async def one(ex: Example) -> Judgment:
                async with sem:
                    return self._to_judgment(ex, await self._post(client, ex))

            results = await asyncio.gather(*(one(ex) for ex in examples), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        self.parse_failures += sum(j.parse_failure for j in results)
        return list(results)

    def _asked(self, ex: Example) -> Example:
        """The example as the endpoint is asked it: with the explanation field where ``explain`` is on."""
        if ex.labels is None or not self.explain:
            return ex
        return explain_first(ex) if self.explain == "before" else explain_after(ex)

    def _payload(self, ex: Example) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": render_prompt(self._asked(ex))}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        if self.logprobs and ex.labels is not None:
            body["logprobs"] = True
            body["top_logprobs"] = min(20, max(5, len(ex.labels) + 2))
        return body

    async def _post(self, client, ex: Example) -> dict[str, Any]:
        import httpx

        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                self.requests += 1
                resp = await client.post("/chat/completions", json=self._payload(ex))
            except httpx.HTTPError as e:  # connection refused, timeouts, protocol errors
                last = f"{type(e).__name__}: {e}"
                continue
            if resp.status_code in RETRY_STATUS:
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                continue
            if resp.status_code >= 400:
                raise RaterError(f"{self.spec}: HTTP {resp.status_code}: {resp.text[:300]}")
            return resp.json()
        raise RaterError(
            f"{self.spec}: endpoint unreachable after {self.max_retries + 1} attempts "
            f"({self.base_url}/chat/completions): {last}"
        )

    def _to_judgment(self, ex: Example, data: dict[str, Any]) -> Judgment:
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            j = Judgment(parse_failure=True, raw=str(data)[:500])
            j.metadata["parse_error"] = "malformed response (no choices[0].message.content)"
            return j
        probs = label_probs_from_logprobs(text, choice.get("logprobs"), ex.labels) if ex.labels else None
        j = judgment_from_text(self._asked(ex), text, probs)
        if probs is not None and not j.parse_failure:
            j.metadata["probs_source"] = "logprobs"
            j.fields["answer"] = max(probs, key=probs.get)
        if self.explain and ex.labels is not None:
            j.metadata["explain"] = self.explain
            if RATIONALE_FIELD in j.fields:
                j.fields[RATIONALE_FIELD] = j.fields[RATIONALE_FIELD].split("\n\n")[0].strip()
        return j


def label_probs_from_logprobs(
    text: str, logprobs: dict[str, Any] | None, labels: Sequence[str]
) -> dict[str, float] | None:
    """Label probabilities from the top alternatives at the token where the answer value starts.

    The answer token is the first token that begins at or after the end of ``answer:`` in the text (or
    the first token when the reply is a bare label). Alternatives that normalize to the same label
    (" A", "A") are summed; the result is renormalized over the labels. None when nothing maps.
    """
    content = (logprobs or {}).get("content")
    if not content:
        return None
    # The answer line, not a mention of "answer:" inside a rationale written before it.
    line = re.search(r"^\s*\**\s*answer\s*\**\s*:", text, re.IGNORECASE | re.MULTILINE)
    at = text.lower().find("answer:")
    start = line.end() if line else (at + len("answer:") if at >= 0 else 0)
    offset = 0
    chosen = None
    for item in content:
        token = item.get("token", "")
        if offset + len(token) > start and token.strip():
            chosen = item
            break
        offset += len(token)
    if chosen is None:
        return None
    mass = dict.fromkeys(labels, 0.0)
    for alt in chosen.get("top_logprobs") or [
        {"token": chosen.get("token", ""), "logprob": chosen.get("logprob", 0)}
    ]:
        label = normalize_label(alt.get("token", ""), tuple(labels))
        if label is not None:
            mass[label] += math.exp(alt.get("logprob", -math.inf))
    total = sum(mass.values())
    if total <= 0:
        return None
    return {lab: m / total for lab, m in mass.items()}
