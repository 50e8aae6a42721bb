"""Where the data and the caches live (settings, not constants)."""

from __future__ import annotations

import os
from pathlib import Path

from flame.errors import FlameError


class DataRootError(FlameError, FileNotFoundError):
    """The data root or a file under it is missing: one clear message naming the path."""


def data_root() -> Path:
    """``FLAME_DATA_DIR``, else ``../shared/data`` next to the repository (or the working directory) when present."""
    env = os.environ.get("FLAME_DATA_DIR")
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise DataRootError(f"FLAME_DATA_DIR={env} is not a directory")
        return root.resolve()
    candidates = [
        Path.cwd() / ".." / "shared" / "data",
        Path(__file__).resolve().parents[2] / ".." / "shared" / "data",
    ]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    raise DataRootError(
        "no data root: set FLAME_DATA_DIR to the folder of human-judgment datasets "
        f"(looked for {', '.join(str(c.resolve()) for c in candidates)})"
    )


def cache_dir() -> Path:
    """``FLAME_CACHE``, default ``~/.cache/flame``: converted models, the built collection, judgments."""
    path = Path(os.environ.get("FLAME_CACHE", "~/.cache/flame")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
