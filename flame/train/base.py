"""Where a run's starting weights come from, and how the model is prepared for training.

``model.base`` is ``smollm2`` (the packaged SmolLM2-135M-Instruct, converted once by ``flame.raters.models``),
``minilm`` (the packaged MiniLM-L6 encoder, trained as an encoder judge: ``flame.encoder``),
``run:RUN_DIR`` (the final model of an earlier ``flame train`` run: FLAMe before its RM stage), a local
Hugging Face folder, or a hub id.
"""

from __future__ import annotations

from pathlib import Path

from flame.train.config import ConfigError, ModelConfig

# Every dropout knob a Hugging Face config may carry; the paper trains with dropout 0.05 everywhere.
DROPOUT_FIELDS = (
    "dropout",
    "attention_dropout",
    "hidden_dropout",
    "activation_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "dropout_rate",
)


def resolve_base_model(name: str) -> str:
    """A local model folder (or a hub id) for a ``model.base`` value; a clear ``ConfigError`` otherwise."""
    if name == "smollm2":
        from flame.raters.models import smollm2_dir

        try:
            return str(smollm2_dir()[0])
        except Exception as e:  # RaterError names the install command
            raise ConfigError(f"model.base=smollm2: {e}") from None
    if name == "minilm":
        from flame.encoder.model import minilm_dir

        try:
            return str(minilm_dir())
        except FileNotFoundError as e:
            raise ConfigError(f"model.base=minilm: {e}") from None
    if name.startswith("run:"):
        from flame.raters.models import run_model_dir

        run = Path(name[4:]).expanduser()
        for cand in (run / "final", run / "model", run):
            if (cand / "adapter_config.json").is_file() and not (cand / "config.json").is_file():
                return str(cand)
        try:
            return str(run_model_dir(run))
        except Exception as e:
            raise ConfigError(f"model.base={name}: {e}") from None
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise ConfigError(f"model.base={name}: the folder has no config.json")
        return str(path.resolve())
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ConfigError(
            f"model.base={name!r}: not 'smollm2', 'minilm', 'run:RUN_DIR', an existing model folder, or a hub id "
            "(org/name)"
        )
    return name  # a hub id: resolved (and checked) by check_model


def check_model(name: str) -> str:
    """Resolve ``model.base`` and read its config: an unknown model fails here, before data or weights."""
    from transformers import AutoConfig

    path = resolve_base_model(name)
    if (Path(path) / "adapter_config.json").is_file() and not (Path(path) / "config.json").is_file():
        return path
    try:
        AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"model.base={name}: cannot read a model config from {path}: {e}") from None
    return path


def is_encoder_judge_base(cfg: ModelConfig, path: str) -> bool:
    """Whether ``path`` trains as an encoder judge: ``model.kind: encoder``, or ``auto`` on a saved judge or a
    BERT-like encoder folder."""
    from flame.encoder.model import is_encoder_folder, is_plain_encoder

    if cfg.kind != "auto":
        return cfg.kind == "encoder"
    return is_encoder_folder(path) or is_plain_encoder(path)


def load_model(cfg: ModelConfig, path: str | None = None, *, for_training: bool = True):
    """(model, tokenizer, is_seq2seq) with dropout set, lower layers frozen and LoRA applied per ``cfg``.

    An encoder base gives an `EncoderJudge` (``flame.encoder``) in place of a language model."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    path = path or resolve_base_model(cfg.base)
    if is_encoder_judge_base(cfg, path):
        from flame.encoder.model import load_encoder_judge

        if cfg.lora.enabled:
            raise ConfigError(
                "model.lora: an encoder judge is small enough to train fully; set lora.enabled: false"
            )
        model = load_encoder_judge(path, dropout=cfg.dropout)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if for_training and cfg.freeze_layers:
            freeze_lower_layers(model, cfg.freeze_layers)
        return model, tokenizer, False
    if (Path(path) / "adapter_config.json").is_file() and not (Path(path) / "config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        # An adapter-only run (train.merge_lora=false): merge it into its base to continue from it.
        model = AutoPeftModelForCausalLM.from_pretrained(path).merge_and_unload()
        hf_config = model.config
        _set_dropout(hf_config, cfg.dropout)
    else:
        hf_config = AutoConfig.from_pretrained(path)
        _set_dropout(hf_config, cfg.dropout)
        seq2seq = cfg.kind == "seq2seq" or (
            cfg.kind == "auto" and getattr(hf_config, "is_encoder_decoder", False)
        )
        cls = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
        model = cls.from_pretrained(path, config=hf_config, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    is_seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    if not for_training:
        return model, tokenizer, is_seq2seq
    if cfg.freeze_layers:
        freeze_lower_layers(model, cfg.freeze_layers)
    if cfg.gradient_checkpointing:
        # Non-reentrant checkpointing works with frozen embeddings (no input that requires grad).
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if cfg.lora.enabled:
        from peft import LoraConfig, TaskType, get_peft_model

        targets = cfg.lora.target_modules
        lora = LoraConfig(
            r=cfg.lora.r,
            lora_alpha=cfg.lora.alpha,
            lora_dropout=cfg.lora.dropout,
            target_modules="all-linear" if targets == ["all-linear"] else targets,
            task_type=TaskType.SEQ_2_SEQ_LM if is_seq2seq else TaskType.CAUSAL_LM,
        )
        frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
        model = get_peft_model(model, lora)
        if frozen:  # LoRA adapters of frozen layers stay frozen too: backward still stops at layer N
            layers = _layer_list(model)
            for layer in layers[: cfg.freeze_layers]:
                layer.requires_grad_(False)
    return model, tokenizer, is_seq2seq


def _set_dropout(hf_config, p: float) -> None:
    for name in DROPOUT_FIELDS:
        if isinstance(getattr(hf_config, name, None), float):
            setattr(hf_config, name, p)


def _layer_list(model):
    """The transformer blocks: the longest ``nn.ModuleList`` in the model (decoder layers for causal LMs)."""
    import torch

    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    if not lists:
        raise ConfigError("model.freeze_layers: this model has no list of layers to freeze")
    return max(lists, key=len)


def freeze_lower_layers(model, n: int) -> None:
    """Freeze the input embeddings and the lowest ``n`` blocks.

    Why this is the CPU speed knob: backward costs twice the forward, and autograd stops at the lowest
    parameter that needs a gradient, so freezing the lower half removes about a third of a step. With
    tied embeddings (SmolLM2) the output head is the same tensor and stays frozen as well.
    """
    layers = _layer_list(model)
    if n > len(layers):
        raise ConfigError(f"model.freeze_layers={n}, but the model has {len(layers)} layers")
    model.get_input_embeddings().requires_grad_(False)
    for layer in layers[:n]:
        layer.requires_grad_(False)


def trainable_parameters(model) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
