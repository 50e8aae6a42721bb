"""Helpers for service tests: counting, slow, crashing and blocking variants of the fake rater; an in-process
client."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from flame.raters.baselines import FakeRater


class CountingRater(FakeRater):
    """The fake rater that records the size of every call (one call = one forward pass)."""

    spec = "fake"

    def __init__(self, delay: float = 0.0, **kw):
        super().__init__(**kw)
        self.delay = delay
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def _judge_batch(self, examples):
        with self.lock:
            self.calls.append(len(examples))
        if self.delay:
            time.sleep(self.delay)
        return super()._judge_batch(examples)


class TrapRater(CountingRater):
    """Raises on any item whose text contains CRASH; sleeps ``slow_s`` on items containing SLOW."""

    def __init__(self, slow_s: float = 5.0, **kw):
        super().__init__(**kw)
        self.slow_s = slow_s

    def _judge_batch(self, examples):
        texts = [" ".join(ex.inputs.values()) for ex in examples]
        if any("CRASH" in t for t in texts):
            raise RuntimeError("model exploded on /secret/path")
        if any("SLOW" in t for t in texts):
            time.sleep(self.slow_s)
        return super()._judge_batch(examples)


class BlockingRater(CountingRater):
    """Items whose text contains STUCK wait for ``release`` (a threading.Event) before they are judged."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.release = threading.Event()

    def _judge_batch(self, examples):
        if any("STUCK" in " ".join(ex.inputs.values()) for ex in examples):
            self.release.wait(timeout=30)  # bounded: a failing test must not leave a thread behind forever
        return super()._judge_batch(examples)


@contextlib.contextmanager
def in_process(rater=None, **kw) -> Iterator:
    """The app served in-process (Starlette's TestClient, lifespan included): no socket, a request costs
    about a millisecond. Settings as `settings`, with no batching wait unless asked."""
    from fastapi.testclient import TestClient

    from flame.serve.app import create_app

    kw.setdefault("batch_wait_ms", 0.0)
    # raise_server_exceptions: an exception that escapes the service's own 500 handler fails the test.
    with TestClient(
        create_app(rater or CountingRater(), settings(**kw)), raise_server_exceptions=True
    ) as client:
        yield client


def pair(prompt="What is 2 + 2?", a="4", b="It is 5.", **extra):
    return {"type": "pairwise", "prompt": prompt, "response_a": a, "response_b": b, **extra}


def settings(**kw):
    """Test settings: no judgment cache unless asked (each test starts cold), short timeouts."""
    from flame.serve.app import Settings

    kw.setdefault("cache", False)
    kw.setdefault("request_timeout_s", 10.0)
    return Settings(**kw)


def tiny_causal_lm(folder):
    """A randomly initialised 2-layer Llama with a byte-level BPE tokenizer trained here: a real HF model folder
    that `HFRater` loads offline in a second (its judgments are noise, its arithmetic is real)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [
        "INSTRUCTIONS:\ntitle: Which response is better?\ndescription: Compare the responses. Answer A or B.",
        "output_fields: answer\n\nCONTEXT:\nprompt: What is 2 + 2?\nresponse A: 4\nresponse B: It is 5.",
        "EVALUATION:\nanswer: A\nanswer: B\nanswer: 1 2 3 4 5 Yes No supported refuted",
    ] * 20
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=1024,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder
