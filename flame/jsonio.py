"""JSON text from users, read one way: benchmark files, JSONL inputs and service request bodies.

Why one function: every place that reads a user's JSON must turn *any* failure of the text into a one-line
reason (``file:line: why`` in a file, a 400 in the service), never a traceback. Python's ``json`` fails in
four ways that are not ``JSONDecodeError``: a deeply nested value raises ``RecursionError``; an integer of
more than 4,300 digits raises a plain ``ValueError`` (CPython's guard against quadratic conversion); a lone
surrogate escape (``"\\ud800"``) parses, then breaks the first UTF-8 encode (a cache key, a tokenizer);
and a repeated key silently keeps the last value. Each is caught here.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BOM = "\ufeff"


class JsonTextError(ValueError):
    """The text is not usable JSON; the message is one line meant for the user."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise JsonTextError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _check_unicode(value: Any) -> None:
    """Raise on a lone surrogate anywhere in the value (keys included), without recursion."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise JsonTextError("a lone surrogate escape (\\udXXX) is not valid Unicode text") from None
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def parse_json(text: str | bytes) -> Any:
    """Parse one JSON value; any problem raises `JsonTextError` with a one-line reason.

    A leading byte-order mark is accepted (editors on Windows write one)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonTextError(f"not UTF-8 ({e.reason} at byte {e.start})") from None
    if text.startswith(BOM):
        text = text[1:]
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except JsonTextError:
        raise
    except json.JSONDecodeError as e:
        raise JsonTextError(f"bad JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:
        raise JsonTextError("bad JSON (nested too deeply)") from None
    except ValueError as e:  # an integer beyond the conversion limit
        if "digits" in str(e):
            raise JsonTextError("bad JSON (an integer with too many digits)") from None
        raise JsonTextError(f"bad JSON ({e})") from None
    _check_unicode(value)
    return value


@dataclass
class JsonLine:
    """One non-blank line of a JSONL file: its parsed value, or the reason it could not be parsed."""

    lineno: int
    value: Any = None
    problem: str | None = None


def read_jsonl(path: str | Path) -> Iterator[JsonLine]:
    """Every non-blank line of a JSONL file (gzip when the name ends in .gz), parsed or with its problem.

    A missing file raises ``FileNotFoundError``; a directory ``IsADirectoryError``; broken gzip ``OSError``."""
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    if raw.startswith(BOM.encode("utf-8")):
        raw = raw[3:]
    for lineno, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue  # blank lines (a trailing newline) hold no row
        try:
            yield JsonLine(lineno, value=parse_json(line))
        except JsonTextError as e:
            yield JsonLine(lineno, problem=str(e))
