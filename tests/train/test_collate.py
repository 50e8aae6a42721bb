"""Encoding and collation against literal token ids and tensors."""

from __future__ import annotations

import pytest
import torch

from flame.format import render_target
from flame.train.collate import IGNORE, Encoded, collate_causal, encode_causal, padding_waste
from flame.types import Example, TaskType


@pytest.fixture(scope="module")
def tok(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir)


def pairwise(prompt="Say hi.", a="hi", b="go away") -> Example:
    return Example(
        task="toy_v1",
        task_type=TaskType.PAIRWISE,
        title="Which response is better?",
        description="Answer 'A' or 'B'.",
        inputs={"prompt": prompt, "response A": a, "response B": b},
        targets={"answer": "A"},
        labels=("A", "B"),
    )


def test_loss_covers_exactly_the_evaluation_block_and_eos(tok):
    ex = pairwise()
    enc = encode_causal(ex, tok, 512)
    target = enc.input_ids[-enc.n_target :]
    assert tok.decode(target) == render_target(ex) + tok.eos_token
    assert target[-1] == tok.eos_token_id


def test_answer_only_loss_starts_at_the_label_token(tok):
    enc = encode_causal(pairwise(), tok, 512, loss_on="answer")
    # " A" is one token with its leading space: the token the raters score after "answer:".
    assert enc.input_ids[-enc.n_target :] == tok(" A", add_special_tokens=False).input_ids + [
        tok.eos_token_id
    ]


def test_long_inputs_lose_the_middle_of_the_longest_field_not_the_target(tok):
    long = " ".join(f"word{i}" for i in range(2000))
    enc = encode_causal(pairwise(a=long), tok, 128)
    assert len(enc.input_ids) <= 128 and enc.truncated
    text = tok.decode(enc.input_ids)
    assert " … " in text and "word0" in text and "word1999" in text
    assert text.endswith("EVALUATION:\nanswer: A" + tok.eos_token)


def test_collate_left_pads_and_labels_the_last_positions():
    batch = [Encoded("t", [5, 6, 7, 8], 2), Encoded("t", [9, 10], 1)]
    out = collate_causal(batch, pad_id=0)
    assert out["input_ids"].tolist() == [[5, 6, 7, 8], [0, 0, 9, 10]]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    assert out["position_ids"].tolist() == [[0, 1, 2, 3], [0, 0, 0, 1]]
    assert out["labels"].tolist() == [[7, 8], [IGNORE, 10]]
    assert padding_waste([batch]) == (2, 8)


def test_kept_logits_line_up_with_the_labels(tiny_model):
    """Loss from the last K+1 logits equals the loss of an unpadded full forward on the same tokens."""
    from transformers import AutoModelForCausalLM

    from flame.train.collate import token_losses

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    batch = [Encoded("t", [5, 6, 7, 8, 9], 3), Encoded("t", [11, 12, 13], 1)]
    losses, mask = token_losses(model, collate_causal(batch, pad_id=0), is_seq2seq=False)
    for row, e in enumerate(batch):
        ids = torch.tensor([e.input_ids])
        logits = model(input_ids=ids).logits[0, :-1]
        ref = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")[-e.n_target :]
        assert torch.allclose(losses[row][mask[row]], ref, atol=1e-5)
