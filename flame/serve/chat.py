"""``POST /v1/chat/completions``: an OpenAI-compatible face on a FLAMe rater.

The message text (contents joined by a blank line) is answered in one of two ways:

1. **judged**: when it is a rendered FLAMe prompt (``render_input`` [+ ``EVALUATION:`` [+ ``answer:``]])
   whose label space is known, it is parsed back into the `Example` it came from and judged by the rater
   through the micro-batcher and the judgment cache: the same call ``/v1/judge`` and ``flame rate`` make.
   The label space comes from ``guided_choice`` (vLLM's request extension), else from the prompt itself
   (`known_label_space`: a registered task's instructions, or a benchmark file's answer sentence). The
   completion is the predicted label, and its one ``logprobs`` entry lists every label with
   ``log P(label)``. So an OpenAI client, the project's ``openai:`` rater included, gets exactly the
   direct rater's probabilities, for any rater and any label tokenization (multi-token labels such as
   SmolLM2's " 4" = " " + "4" included), and never misses a label that fell out of the top 20.

2. **continued** (local HF raters only): greedy decoding of the raw text, with each token's
   log-probability and up to 20 ``top_logprobs``. No chat template is applied: FLAMe raters read the raw
   FLAMe text (that is what they are trained and scored on), and a template would change the
   probabilities. When the text ends with the ``EVALUATION:`` header, the completion is forced to start
   with ``answer:`` (the model's own log-probs of those tokens are reported), so the first free token is
   the answer token, read at exactly the position where the direct rater reads label scores.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flame.format import EVALUATION_HEADER, SEPARATOR, render_input
from flame.types import PAIRWISE_LABELS, PAIRWISE_LABELS_WITH_TIE, Example, TaskType, score_labels

ANSWER_PREFIX = "answer:"


class ChatError(ValueError):
    """A request the endpoint cannot answer (400), with a message for the client."""


# ------------------------------------------------------------------------------ FLAMe prompts


@dataclass
class ParsedPrompt:
    title: str
    description: str
    output_fields: tuple[str, ...]
    inputs: dict[str, str]
    tail: str  # "", "evaluation" (ends with EVALUATION:) or "answer" (ends with answer:)


_KNOWN_LAYOUTS = (("prompt", "response A", "response B"), ("prompt", "response"))
_FIELD_START = re.compile(r"^([A-Za-z_][A-Za-z0-9_ ()/-]{0,60}): ?", re.MULTILINE)


def parse_flame_prompt(text: str) -> ParsedPrompt | None:
    """Parse a rendered FLAMe prompt back into its parts; None when ``text`` is not one.

    CONTEXT values may span lines, so field boundaries are ambiguous in general: the pairwise and pointwise
    layouts of benchmark files are tried first, then every ``name: `` line start. Any split renders back to
    the same text (which the caller checks), so the rendered input, the cache key and a model's scores
    never depend on the choice.
    """
    tail = ""
    body = text
    for suffix, kind in (
        (SEPARATOR + EVALUATION_HEADER + "\n" + ANSWER_PREFIX, "answer"),
        (SEPARATOR + EVALUATION_HEADER + "\n", "evaluation"),
        (SEPARATOR + EVALUATION_HEADER, "evaluation"),
    ):
        if body.endswith(suffix):
            body, tail = body[: -len(suffix)], kind
            break
    m = re.match(
        r"INSTRUCTIONS:\ntitle: (?P<title>.*?)\ndescription: (?P<description>.*?)\noutput_fields: "
        r"(?P<fields>[^\n]*)\n\nCONTEXT:\n(?P<context>.*)\Z",
        body,
        re.DOTALL,
    )
    if not m:
        return None
    inputs = _split_context(m.group("context"))
    if inputs is None:
        return None
    fields = tuple(f.strip() for f in m.group("fields").split(",") if f.strip())
    return ParsedPrompt(m.group("title"), m.group("description"), fields or ("answer",), inputs, tail)


def _split_context(context: str) -> dict[str, str] | None:
    for keys in _KNOWN_LAYOUTS:
        pattern = "".join(
            ("" if i == 0 else r"\n") + re.escape(k) + rf": (?P<f{i}>.*?)" for i, k in enumerate(keys)
        )
        m = re.fullmatch(pattern, context, re.DOTALL)
        if m:
            return {k: m.group(f"f{i}") for i, k in enumerate(keys)}
    starts = list(_FIELD_START.finditer(context))
    if not starts or starts[0].start() != 0:
        return None
    inputs: dict[str, str] = {}
    for i, s in enumerate(starts):
        end = starts[i + 1].start() - 1 if i + 1 < len(starts) else len(context)
        key = s.group(1)
        if key in inputs:  # a repeated name is a line inside a value: glue it to the previous field
            last = next(reversed(inputs))
            inputs[last] += "\n" + context[s.start() : end]
            continue
        inputs[key] = context[s.end() : end]
    return inputs


def infer_task_type(inputs: dict[str, str], labels: Sequence[str]) -> TaskType:
    """Pairwise for A/B(/tie) over "response A"/"response B"; pointwise for a run of integers; else classification."""
    if {"A", "B"} <= set(labels) <= {"A", "B", "tie"} and {"response A", "response B"} <= set(inputs):
        return TaskType.PAIRWISE
    try:
        values = [int(x) for x in labels]
    except ValueError:
        return TaskType.CLASSIFICATION
    if [str(v) for v in values] == list(labels) and values == list(range(values[0], values[0] + len(values))):
        return TaskType.POINTWISE
    return TaskType.CLASSIFICATION


def example_from_prompt(text: str, labels: Sequence[str] | None = None) -> Example | None:
    """The Example a rendered FLAMe prompt came from (None if ``text`` is not one).

    The label space is ``labels`` when given (guided_choice), else `known_label_space` of the prompt; a
    prompt whose label space is unknown gives None.
    """
    parsed = parse_flame_prompt(text)
    if parsed is None:
        return None
    if labels is None:
        labels = known_label_space(parsed)
        if labels is None:
            return None
    try:
        ex = Example(
            task="api/chat",
            task_type=infer_task_type(parsed.inputs, labels),
            title=parsed.title,
            description=parsed.description,
            inputs=parsed.inputs,
            targets={},
            labels=tuple(labels),
            output_fields=parsed.output_fields,
            id="chat",
        )
    except ValueError:
        return None
    expected = text
    for suffix in (
        SEPARATOR + EVALUATION_HEADER + "\n" + ANSWER_PREFIX,
        SEPARATOR + EVALUATION_HEADER + "\n",
    ):
        if expected.endswith(suffix):
            expected = expected[: -len(suffix)]
            break
    else:
        expected = expected.removesuffix(SEPARATOR + EVALUATION_HEADER)
    # Values with surrounding whitespace do not survive rendering; such a prompt is not one we rendered.
    return ex if render_input(ex) == expected else None


def known_label_space(parsed: ParsedPrompt) -> tuple[str, ...] | None:
    """The label space a FLAMe prompt implies, when it implies one for sure.

    * a registered task with the same title, description and output fields: its labels;
    * a benchmark-file row: `flame.data.files` ends every pairwise and pointwise description with a fixed
      answer sentence ("Answer 'A' if Response A is better, 'B' if ...", "Answer with an integer from 1
      (worst) to 5 (best).") that names the label space.

    Classification rows of benchmark files name their labels nowhere in the text: None (send guided_choice).
    Why infer at all: OpenAI clients (the ``openai:`` rater among them) send only the prompt, and with the
    label space known the endpoint answers with the direct rater's own judgment of the prompt.
    """
    labels = _registered_label_spaces().get((parsed.title, parsed.description, parsed.output_fields))
    if labels:
        return labels
    from flame.data.files import pairwise_answer_sentence, pointwise_answer_sentence

    if {"response A", "response B"} <= set(parsed.inputs):
        for with_tie in (True, False):
            if parsed.description.endswith(pairwise_answer_sentence(with_tie)):
                return PAIRWISE_LABELS_WITH_TIE if with_tie else PAIRWISE_LABELS
    pattern = (
        re.escape(pointwise_answer_sentence(("LOW", "HIGH")))
        .replace("LOW", r"(-?\d+)")
        .replace("HIGH", r"(-?\d+)")
    )
    m = re.search(pattern + r"\Z", parsed.description)
    if m and int(m.group(1)) < int(m.group(2)):
        return score_labels(int(m.group(1)), int(m.group(2)))
    return None


@functools.cache
def _registered_label_spaces() -> dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]]:
    from flame.data.task import load_all_tasks

    spaces: dict[tuple, set] = {}
    tasks = load_all_tasks()
    for name in tasks.names():
        t = tasks.get(name)
        if t.labels:
            spaces.setdefault((t.title, t.description, tuple(t.output_fields)), set()).add(tuple(t.labels))
    # Two tasks with the same instructions but different label spaces: ambiguous, so not inferred.
    return {k: next(iter(v)) for k, v in spaces.items() if len(v) == 1}


def prompt_text(messages) -> str:
    """The raw prompt: the message contents in order, joined by a blank line (one user message: its text)."""
    return SEPARATOR.join(m.text() for m in messages if m.text())


# ------------------------------------------------------------------------------- responses


@dataclass
class TokenLogprob:
    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)


def logprob_entry(t: TokenLogprob) -> dict[str, Any]:
    return {
        "token": t.token,
        "logprob": t.logprob,
        "bytes": list(t.token.encode("utf-8")),
        "top_logprobs": [{"token": s, "logprob": lp, "bytes": list(s.encode("utf-8"))} for s, lp in t.top],
    }


def completion_body(
    model: str,
    content: str,
    tokens: list[TokenLogprob] | None,
    finish_reason: str,
    prompt_tokens: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": finish_reason,
        "logprobs": {"content": [logprob_entry(t) for t in tokens]} if tokens is not None else None,
    }
    n_completion = len(tokens) if tokens is not None else 1
    body = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": n_completion,
            "total_tokens": prompt_tokens + n_completion,
        },
    }
    if extra:
        body.update(extra)
    return body


def choice_logprobs(probs: dict[str, float], prediction: str) -> TokenLogprob:
    """The guided answer as one token entry: every choice with log P(choice), most likely first."""

    def lp(p: float) -> float:
        return math.log(p) if p > 0 else -9999.0  # JSON has no -inf; OpenAI clients expect a number

    top = sorted(((lab, lp(p)) for lab, p in probs.items()), key=lambda x: -x[1])
    return TokenLogprob(prediction, lp(probs[prediction]), top)


# --------------------------------------------------------------------- plain continuation


def has_language_model(rater) -> bool:
    """True for local HF raters (a causal LM with a tokenizer); seq2seq models and encoder judges (which
    generate nothing) are not continued here."""
    return (
        callable(getattr(getattr(rater, "model", None), "generate", None))
        and getattr(rater, "tokenizer", None) is not None
        and not getattr(rater, "is_seq2seq", False)
    )


def continue_prompt(
    rater, text: str, max_tokens: int, top_logprobs: int
) -> tuple[str, list[TokenLogprob], str, int]:
    """Greedy continuation of ``text`` by an HF rater's model → (content, tokens, finish_reason, prompt_tokens).

    Runs on the batcher's worker thread (it shares the model with judging). Token ids are those of the
    whole prefix string, tokenized at once as the direct rater tokenizes ``render_label_prefix``.
    """
    import torch

    tok = rater.tokenizer
    prompt_ids = tok(text, add_special_tokens=True).input_ids
    forced_text = ""
    if text.rstrip().endswith(EVALUATION_HEADER):
        # The FLAMe answer slot: "EVALUATION:\nanswer:" (render_label_prefix), whatever whitespace came after.
        text = text.rstrip() + "\n" + ANSWER_PREFIX
        forced_text = ANSWER_PREFIX
    ids = tok(text, add_special_tokens=True).input_ids
    # Forced tokens: those of the whole prefix beyond what it shares with the client's prompt.
    n_common = len(ids)
    if forced_text:
        n_common = next(
            (i for i, (a, b) in enumerate(zip(prompt_ids, ids, strict=False)) if a != b),
            min(len(prompt_ids), len(ids)),
        )
        n_common = max(1, n_common)
    limit = getattr(rater, "max_length", 2048)
    if len(ids) + max_tokens > limit:
        raise ChatError(
            f"the prompt has {len(ids)} tokens; with max_tokens={max_tokens} that exceeds the rater's "
            f"max_length of {limit}"
        )
    eos = tok.eos_token_id
    out: list[TokenLogprob] = []
    k = max(0, min(top_logprobs, 20))
    device = rater.device
    with torch.inference_mode(), rater._autocast():
        result = rater.model(input_ids=torch.tensor([ids], device=device), use_cache=True)
        logprobs = torch.log_softmax(result.logits[0].float(), dim=-1)
        # Forced tokens: the model's own log-probs of "answer:" at their positions.
        for pos in range(n_common, len(ids)):
            out.append(_entry(tok, logprobs[pos - 1], ids[pos], k))
        last = logprobs[-1]
        # transformers 5 names the KV cache ``cache``; 4.x called it ``past_key_values``.
        cache_arg = (
            "cache" if "cache" in inspect.signature(rater.model.forward).parameters else "past_key_values"
        )
        past = getattr(result, cache_arg)
        finish = "length"
        for _ in range(max_tokens):
            next_id = int(torch.argmax(last).item())
            if next_id == eos:
                finish = "stop"
                break
            out.append(_entry(tok, last, next_id, k))
            result = rater.model(
                input_ids=torch.tensor([[next_id]], device=device), **{cache_arg: past}, use_cache=True
            )
            past = getattr(result, cache_arg)
            last = torch.log_softmax(result.logits[0, -1].float(), dim=-1)
    return "".join(t.token for t in out), out, finish, len(prompt_ids)


def _entry(tok, logprobs, token_id: int, k: int) -> TokenLogprob:
    import torch

    top = []
    if k:
        values, indices = torch.topk(logprobs, k)
        top = [
            (tok.decode([int(i)]), float(v)) for v, i in zip(values.tolist(), indices.tolist(), strict=True)
        ]
    return TokenLogprob(tok.decode([token_id]), float(logprobs[token_id].item()), top)
