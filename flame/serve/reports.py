"""Which files under ``--reports`` the service shows: one rule (`report_file`) for the listing and for GET.

A file is servable when
* its path, as asked, is a relative path of ordinary names: no empty, ``.``/``..`` or hidden (``.git``,
  ``.env.json``) component, no NUL byte, no name over the file system's limit;
* it resolves (symlinks followed) to a regular file inside the reports folder, again with no hidden
  component, so a symlink can neither leave the folder nor reach a hidden file in it;
* no folder along the way is a symlink (the listing does not follow symlinked folders, so GET does not
  either: what is listed is exactly what is served);
* its suffix is one of `REPORT_SUFFIXES`.

Any other path, a broken link or a symlink loop included, is "no such report" (404), never a 500.
"""

from __future__ import annotations

import os
from pathlib import Path

REPORT_SUFFIXES = (".json", ".jsonl", ".md", ".html", ".txt", ".csv", ".png", ".svg")
MAX_REPORT_FILES = 500
MAX_NAME_BYTES = 255  # NAME_MAX of Linux and macOS file systems


def _ordinary(parts: list[str]) -> bool:
    return all(
        p
        and not p.startswith(".")
        and "\x00" not in p
        and len(p.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES
        for p in parts
    )


def report_file(root: Path, rel: str) -> Path | None:
    """The file ``GET /v1/reports/{rel}`` serves from ``root`` (a resolved folder), or None."""
    parts = rel.split("/")
    if not _ordinary(parts) or Path(parts[-1]).suffix.lower() not in REPORT_SUFFIXES:
        return None
    try:
        # The folders must be the real ones (no symlinked folder), the file may be a link within root.
        if (root / rel).parent.resolve(strict=True) != root.joinpath(*parts[:-1]):
            return None
        target = (root / rel).resolve(strict=True)
        if not target.is_file():
            return None
    except (OSError, RuntimeError, ValueError):  # missing, too long, a symlink loop (RuntimeError on 3.11)
        return None
    if not target.is_relative_to(root) or not _ordinary(list(target.relative_to(root).parts)):
        return None
    if target.suffix.lower() not in REPORT_SUFFIXES:
        return None
    return target


def list_reports(root: Path, limit: int = MAX_REPORT_FILES) -> list[dict]:
    """The servable files under ``root``, sorted by path: ``{"path", "bytes", "modified"}`` each."""
    files = []
    for folder, dirs, names in os.walk(root):  # symlinked folders are not entered (followlinks=False)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # hidden folders are not even read
        base = Path(folder).relative_to(root)
        for name in sorted(names):
            rel = (base / name).as_posix()
            target = report_file(root, rel)
            if target is None:
                continue
            try:
                st = target.stat()
            except OSError:  # removed since
                continue
            files.append({"path": rel, "bytes": st.st_size, "modified": int(st.st_mtime)})
    files.sort(key=lambda f: f["path"])
    return files[:limit]
