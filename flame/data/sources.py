"""Where a task's raw records come from: local files under the data root, or Hugging Face Hub datasets.

A source yields ``Record``s: a location (``file:line``, stable across machines, used in messages and
example ids) and either the raw dict or the reason it could not be read (``BadRecord``). Readers never
stop at a bad line: the good rows are kept and every bad one is reported.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from flame.data.paths import DataRootError


@dataclass(frozen=True)
class Record:
    location: str
    data: dict[str, Any]


@dataclass(frozen=True)
class BadRecord:
    location: str
    reason: str


class Source(Protocol):
    def records(self, root: Path) -> Iterator[Record | BadRecord]: ...

    def files(self, root: Path) -> list[Path]:
        """Local files this source reads (for cache fingerprints); empty for hub sources."""
        ...


# ------------------------------------------------------------------------------------------ readers

csv.field_size_limit(sys.maxsize)  # articles and dialogues exceed csv's 128 KiB default field limit


def _open_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


def _base_suffix(path: Path) -> str:
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def read_json_records(path: Path, name: str) -> Iterator[Record | BadRecord]:
    """A JSON list, an object keyed by id (the key is kept as ``_key``), or JSON lines under a .json name."""
    raw = _open_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        yield BadRecord(f"{name}", f"not UTF-8 ({e.reason} at byte {e.start})")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # HaluEval's general_data.json is JSON lines despite its name.
        yield from _json_lines(text.splitlines(), name)
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            if isinstance(item, dict):
                yield Record(f"{name}:{i}", item)
            else:
                yield BadRecord(f"{name}:{i}", f"expected an object, got {type(item).__name__}")
    elif isinstance(data, dict):
        for key, item in data.items():
            if isinstance(item, dict):
                yield Record(f"{name}:{key}", {"_key": key, **item})
            else:
                yield BadRecord(f"{name}:{key}", f"expected an object, got {type(item).__name__}")
    else:
        yield BadRecord(name, f"expected a JSON list or object, got {type(data).__name__}")


def _json_lines(lines, name: str) -> Iterator[Record | BadRecord]:
    for lineno, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                yield BadRecord(f"{name}:{lineno}", "not UTF-8")
                continue
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            yield BadRecord(f"{name}:{lineno}", f"bad JSON ({e.msg})")
            continue
        if not isinstance(item, dict):
            yield BadRecord(f"{name}:{lineno}", f"expected an object, got {type(item).__name__}")
            continue
        yield Record(f"{name}:{lineno}", item)


def read_jsonl_records(path: Path, name: str) -> Iterator[Record | BadRecord]:
    yield from _json_lines(_open_bytes(path).split(b"\n"), name)


def read_csv_records(
    path: Path, name: str, delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL
) -> Iterator[Record | BadRecord]:
    """CSV/TSV with a header row. Line numbers count the header as line 1."""
    raw = _open_bytes(path)
    try:
        text, lossy = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        # Keep the readable rows; only rows that held undecodable bytes are reported.
        text, lossy = raw.decode("utf-8", errors="replace"), True
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = next(reader)
    except StopIteration:
        return
    for lineno, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield BadRecord(f"{name}:{lineno}", f"{len(row)} fields, header has {len(header)}")
            continue
        rec = dict(zip(header, row, strict=True))
        if lossy and any("\ufffd" in v for v in row):
            yield BadRecord(f"{name}:{lineno}", "not UTF-8")
            continue
        yield Record(f"{name}:{lineno}", rec)


def read_whitespace_table(path: Path, name: str) -> Iterator[Record | BadRecord]:
    """Space/tab separated tables (WMT MQM ``avg_seg_scores``): split on any run of whitespace."""
    lines = _open_bytes(path).decode("utf-8", errors="replace").splitlines()
    if not lines:
        return
    header = lines[0].split()
    for lineno, line in enumerate(lines[1:], start=2):
        cells = line.split()
        if not cells:
            continue
        if len(cells) != len(header):
            yield BadRecord(f"{name}:{lineno}", f"{len(cells)} fields, header has {len(header)}")
            continue
        yield Record(f"{name}:{lineno}", dict(zip(header, cells, strict=True)))


# ------------------------------------------------------------------------------------------ sources


@dataclass(frozen=True)
class LocalFiles:
    """Files under the data root, read by format.

    ``format``: ``auto`` (by suffix: .json, .jsonl, .csv, .tsv, optionally .gz), ``json``, ``jsonl``,
    ``csv``, ``tsv``, ``whitespace``. ``quoting``: pass ``csv.QUOTE_NONE`` for files with stray quotes.
    Each record gets ``_file`` (the file name) so that a task can tell its subsets apart.
    """

    paths: tuple[str, ...]
    format: str = "auto"
    quoting: int = csv.QUOTE_MINIMAL

    def __init__(self, *paths: str, format: str = "auto", quoting: int = csv.QUOTE_MINIMAL):
        if not paths:
            raise ValueError("LocalFiles needs at least one path")
        object.__setattr__(self, "paths", tuple(paths))
        object.__setattr__(self, "format", format)
        object.__setattr__(self, "quoting", quoting)

    def files(self, root: Path) -> list[Path]:
        out: list[Path] = []
        for pattern in self.paths:
            matches = sorted(root.glob(pattern)) if any(c in pattern for c in "*?[") else [root / pattern]
            if not matches or not all(m.is_file() for m in matches):
                raise DataRootError(f"missing data file: {root / pattern}")
            out.extend(matches)
        return out

    def records(self, root: Path) -> Iterator[Record | BadRecord]:
        for path in self.files(root):
            name = str(path.relative_to(root))
            for rec in self._read(path, name):
                if isinstance(rec, Record):
                    rec.data.setdefault("_file", path.name)
                yield rec

    def _read(self, path: Path, name: str) -> Iterator[Record | BadRecord]:
        fmt = self.format if self.format != "auto" else _base_suffix(path).lstrip(".")
        if fmt == "json":
            return read_json_records(path, name)
        if fmt == "jsonl":
            return read_jsonl_records(path, name)
        if fmt == "csv":
            return read_csv_records(path, name, ",", self.quoting)
        if fmt == "tsv":
            return read_csv_records(path, name, "\t", self.quoting)
        if fmt == "whitespace":
            return read_whitespace_table(path, name)
        raise ValueError(f"{name}: unknown format {fmt!r}")


@dataclass(frozen=True)
class Joined:
    """A source built by a function of the data root, for datasets whose judgment and text live in
    different files (SQuALITY passages, TTCW stories, ...). ``reader(root)`` yields Records."""

    reader: Callable[[Path], Iterator[Record | BadRecord]]
    paths: tuple[str, ...] = field(default=())

    def files(self, root: Path) -> list[Path]:
        return LocalFiles(*self.paths).files(root) if self.paths else []

    def records(self, root: Path) -> Iterator[Record | BadRecord]:
        self.files(root)  # a missing file is one clear error before any reading
        yield from self.reader(root)


@dataclass(frozen=True)
class HubDataset:
    """A Hugging Face Hub dataset by id, for users who are online (``datasets.load_dataset``).

    ``data_files`` lets the same code read local files (``HubDataset("json", data_files=...)``), which is
    how the tests exercise it offline.
    """

    path: str
    name: str | None = None
    split: str = "train"
    data_files: str | tuple[str, ...] | None = None

    def files(self, root: Path) -> list[Path]:
        return []

    def records(self, root: Path) -> Iterator[Record | BadRecord]:
        import datasets

        files = list(self.data_files) if isinstance(self.data_files, tuple) else self.data_files
        ds = datasets.load_dataset(self.path, self.name, split=self.split, data_files=files)
        for i, item in enumerate(ds):
            yield Record(f"{self.path}:{self.split}:{i}", dict(item))
