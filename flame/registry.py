"""A generic name → object registry: duplicate names raise, unknown names suggest close matches."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from typing import Generic, TypeVar

from flame.errors import FlameError

T = TypeVar("T")


class UnknownNameError(FlameError, KeyError):
    """An unknown name, with the closest registered names in the message."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable.
        return str(self.args[0])


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return sorted(self._items)

    def values(self) -> list[T]:
        return [self._items[n] for n in self.names()]

    def remove(self, name: str) -> None:
        del self._items[name]

    @contextlib.contextmanager
    def isolated(self) -> Iterator[Registry[T]]:
        """Tests register throw-away entries inside this block; the registry is restored after."""
        saved = dict(self._items)
        try:
            yield self
        finally:
            self._items = saved
