"""Model families behind one interface, and the one model resolver for rater specs and ``model.base``."""

from __future__ import annotations

import json

import pytest

from flame.families import FAMILIES, ModelFamily, family_of, pick_family
from flame.raters.base import RaterError
from flame.raters.models import resolve_model
from flame.train.config import ConfigError


def test_every_family_has_the_whole_interface():
    assert FAMILIES.names() == ["causal", "encoder", "seq2seq"]
    for name in FAMILIES:
        family = FAMILIES.get(name)
        assert isinstance(family, ModelFamily) and family.name == name
    assert [FAMILIES.get(n).generates for n in ("causal", "seq2seq", "encoder")] == [True, True, False]


def test_the_family_is_read_from_the_folder_or_named_by_kind(tiny_model, tiny_encoder, tmp_path):
    assert pick_family(tiny_model).name == "causal"
    assert pick_family(tiny_encoder).name == "encoder"  # a BERT-like folder: fresh heads on it
    assert pick_family(tiny_encoder, "causal").name == "causal"  # model.kind overrides the folder
    t5 = tmp_path / "t5"
    t5.mkdir()
    (t5 / "config.json").write_text(json.dumps({"model_type": "t5", "is_encoder_decoder": True}))
    assert pick_family(t5).name == "seq2seq"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    assert pick_family(adapter).name == "causal"  # loaded with AutoPeftModelForCausalLM


def test_a_loaded_model_knows_its_family(tiny_model, tiny_encoder):
    from flame.train.base import load_model
    from flame.train.config import ModelConfig

    lm, _, is_seq2seq = load_model(ModelConfig(base=str(tiny_model)), for_training=False)
    judge, _, _ = load_model(ModelConfig(base=str(tiny_encoder)), for_training=False)
    assert family_of(lm).name == "causal" and not is_seq2seq
    assert family_of(judge).name == "encoder"


@pytest.mark.parametrize(
    ("name", "path", "hub"),
    [("hf:gpt2", "gpt2", True), ("hf:org/model", "org/model", True)],
)
def test_hub_ids(name, path, hub):
    ref = resolve_model(name)
    assert (ref.path, ref.hub, ref.weights_id) == (path, hub, "")


def test_the_same_names_resolve_for_raters_and_bases(tiny_model, tmp_path):
    from flame.train.base import resolve_base_model

    folder = str(tiny_model.resolve())
    assert resolve_model(f"hf:{tiny_model}").path == folder
    assert resolve_base_model(f"hf:{tiny_model}") == folder  # model.base takes hf: too
    assert resolve_base_model(str(tiny_model)) == folder  # and a bare folder, as older configs wrote
    assert resolve_base_model("org/model") == "org/model"  # and a bare org/name hub id
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    (run / "final" / "adapter_config.json").write_text("{}")  # train.merge_lora=false
    assert resolve_model(f"run:{run}").path == resolve_base_model(f"run:{run}") == str(run / "final")
    assert resolve_model(f"hf:{tiny_model}").weights_id == resolve_model(f"run:{tiny_model}").weights_id


def test_minilm_is_a_base_and_a_rater():
    from flame.raters import load_rater

    try:
        ref = resolve_model("minilm")
    except RaterError as e:
        pytest.skip(str(e))
    assert pick_family(ref.path).name == "encoder"
    rater = load_rater("minilm", max_length=64)
    assert type(rater).__name__ == "EncoderRater" and rater.spec == "minilm" and rater.weights_id()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("gpt2", r"model.base='gpt2': not a model name; .*\(a hub id without an org: hf:gpt2\)"),
        ("smolm2", r"did you mean smollm2\?"),
        ("hf:./nowhere", "no such model folder"),
        ("run:/no/such/run", "no model folder"),
        ("minilm:x", "takes no argument"),
    ],
)
def test_bad_base_names_say_what_is_valid(name, message):
    from flame.train.base import resolve_base_model

    with pytest.raises(ConfigError, match=message):
        resolve_base_model(name)


def test_a_folder_without_a_config_is_no_model(tmp_path):
    with pytest.raises(RaterError, match="has no config.json"):
        resolve_model(f"hf:{tmp_path}")
