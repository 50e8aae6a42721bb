"""Raters: turn rendered Examples into Judgments. Named by spec strings usable everywhere.

    smollm2                 the packaged SmolLM2-135M-Instruct (default)
    minilm                  the packaged MiniLM-L6 as an encoder judge with fresh heads (untrained)
    hf:PATH_OR_HUB_ID       any HF model folder, or a hub id (a hub id downloads; a folder does not)
    run:RUN_DIR             a `flame train` output (RUN_DIR/final, else RUN_DIR/model); an encoder judge too
    openai:MODEL@BASE_URL   an OpenAI-compatible endpoint (key from OPENAI_API_KEY or api_key_env)
    length                  the longer response wins / is better
    random                  a seeded coin (seed option, default 0)
    fake                    deterministic hash-based probabilities, for tests
    jury:SPEC|SPEC|...      several raters, their probabilities combined (mean; combine=majority)
    jury:@members.yaml      the same from a YAML list of specs or of {spec, weight} (`flame.raters.jury`)

The model forms are the names `flame.raters.models.resolve_model` reads (``model.base`` takes the same);
the folder's model family (`flame.families`) picks the rater class: a family that writes text rates with
`HFRater`, the encoder judge with `EncoderRater`. Heavy backends (torch, transformers, httpx) are imported
inside the factories.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flame.raters.base import BaseRater, Rater, RaterError
from flame.registry import Registry

__all__ = ["BaseRater", "Rater", "RaterError", "SPEC_FORMS", "DEFAULT_RATER", "load_rater", "parse_spec"]

DEFAULT_RATER = "smollm2"


@dataclass(frozen=True)
class SpecForm:
    name: str
    usage: str
    takes_arg: bool
    build: Callable[..., BaseRater]


SPEC_FORMS: Registry[SpecForm] = Registry("rater spec form")

# Options that only model raters understand; the CLI passes them to every rater, baselines drop them.
_MODEL_OPTIONS = ("max_length", "batch_size", "dtype", "threads", "max_new_tokens")
_API_OPTIONS = ("api_key_env", "concurrency", "timeout", "max_retries", "backoff", "max_tokens", "logprobs")


def _only(options: dict[str, Any], drop: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in drop}


def _model(form: str):
    """The factory of a model form: resolve the name, pick the folder's family, build its rater."""

    def build(arg: str, **options) -> BaseRater:
        from flame.raters.models import resolve_model

        spec = f"{form}:{arg}" if arg else form
        ref = resolve_model(spec)
        options = _only(options, _API_OPTIONS)
        if ref.hub:  # a hub id: the user named it, so downloading is allowed here and only here
            from flame.raters.hf import HFRater

            rater = HFRater(spec, ref.path, local_files_only=False, **options)
            commit = getattr(rater.model.config, "_commit_hash", None) or "unknown"
            rater._weights_id = f"hub:{ref.path}@{commit}"
            return rater
        from flame.families import pick_family

        if pick_family(ref.path).generates:
            from flame.raters.hf import HFRater

            return HFRater(spec, ref.path, weights_id=ref.weights_id, **options)
        from flame.raters.encoder import EncoderRater

        return EncoderRater(spec, ref.path, weights_id=ref.weights_id, **options)

    return build


def _openai(arg: str, **options) -> BaseRater:
    from flame.raters.openai import OpenAIRater

    model, sep, base_url = arg.rpartition("@")
    if not sep or not model or not base_url:
        raise RaterError(
            f"rater spec 'openai:{arg}' needs MODEL@BASE_URL (e.g. openai:gpt-4o@https://api.openai.com/v1). "
            f"Valid rater specs:\n{valid_forms()}"
        )
    return OpenAIRater(model, base_url, **_only(options, _MODEL_OPTIONS))


def _baseline(cls_name: str):
    def build(arg: str, **options) -> BaseRater:
        from flame.raters import baselines

        return getattr(baselines, cls_name)(**_only(options, _MODEL_OPTIONS + _API_OPTIONS))

    return build


def _jury(arg: str, **options) -> BaseRater:
    from flame.raters.jury import build_jury

    return build_jury(arg, _build, **options)  # members unwarned: load_rater speaks once for the jury


for _form in (
    SpecForm("smollm2", "smollm2 (default: the packaged SmolLM2-135M-Instruct)", False, _model("smollm2")),
    SpecForm(
        "minilm", "minilm (the packaged MiniLM-L6 encoder judge, untrained heads)", False, _model("minilm")
    ),
    SpecForm(
        "hf", "hf:PATH_OR_HUB_ID (a local HF model folder, or a hub id to download)", True, _model("hf")
    ),
    SpecForm(
        "run", "run:RUN_DIR (a `flame train` output: RUN_DIR/final, else RUN_DIR/model)", True, _model("run")
    ),
    SpecForm("openai", "openai:MODEL@BASE_URL (an OpenAI-compatible endpoint)", True, _openai),
    SpecForm("length", "length (the longer response wins)", False, _baseline("LengthRater")),
    SpecForm("random", "random (a seeded coin; --seed)", False, _baseline("RandomRater")),
    SpecForm("fake", "fake (deterministic, for tests)", False, _baseline("FakeRater")),
    SpecForm(
        "jury",
        "jury:SPEC|SPEC|... or jury:@members.yaml (members' probabilities combined; combine=mean|majority)",
        True,
        _jury,
    ),
):
    SPEC_FORMS.add(_form.name, _form)


def valid_forms() -> str:
    return "\n".join(
        f"  {SPEC_FORMS.get(n).usage}"
        for n in ("smollm2", "minilm", "hf", "run", "openai", "length", "random", "fake", "jury")
    )


def parse_spec(spec: str) -> tuple[SpecForm, str]:
    """``"hf:./dir"`` → (the hf form, ``"./dir"``); an unknown or malformed spec lists the valid forms."""
    name, sep, arg = spec.strip().partition(":")
    if name in SPEC_FORMS:
        form = SPEC_FORMS.get(name)
        if form.takes_arg and not arg:
            raise RaterError(
                f"rater spec {spec!r} needs an argument after ':'. Valid rater specs:\n{valid_forms()}"
            )
        if not form.takes_arg and sep:
            raise RaterError(f"rater spec {spec!r} takes no argument. Valid rater specs:\n{valid_forms()}")
        return form, arg
    import difflib

    close = difflib.get_close_matches(name, SPEC_FORMS.names(), n=2, cutoff=0.5)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise RaterError(f"unknown rater spec {spec!r}{hint}. Valid rater specs:\n{valid_forms()}")


def load_rater(spec: str = DEFAULT_RATER, **options: Any) -> BaseRater:
    """Build a rater from its spec. Options: swap, seed, explain ("before": a rationale, then the answer;
    "after"; True means "before"); model raters also max_length, batch_size, dtype, threads, max_new_tokens;
    API raters api_key_env, concurrency, timeout, max_retries, backoff; a jury combine (mean or majority) and
    cache (its members' cache file), the rest going to its members. A rater that writes no text, asked to
    explain, says so in one line on stderr and judges without."""
    rater = _build(spec, **options)
    unable = rater.cannot_explain()
    if unable:
        # One line, not silence: a baseline or an encoder judge writes no text, so it has nothing to explain.
        who = f"rater {unable[0]}" if unable == [rater.spec] else f"{rater.spec}: members {', '.join(unable)}"
        print(f"warning: {who} cannot explain: --explain ignored", file=sys.stderr)
        rater.drop_explain()
    return rater


def _build(spec: str, **options: Any) -> BaseRater:
    form, arg = parse_spec(spec)
    options = {k: v for k, v in options.items() if v is not None}
    return form.build(arg, **options)
