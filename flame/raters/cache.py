"""The judgment cache: SQLite in WAL mode, one row per (rater identity, rendered input, scoring options).

Why SQLite/WAL: a job killed with SIGKILL loses at most the batch in flight (each batch is one
transaction), several processes of a data-parallel job can write at once, and readers never block.
The ``stats`` table counts judgments inserted per rater in the same transaction as the judgments, so a
resumed job can prove that nothing was judged (and stored) twice.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flame.data.paths import cache_dir
from flame.format import render_input
from flame.raters.base import stable_hash
from flame.types import Example, Judgment

SCHEMA = """
CREATE TABLE IF NOT EXISTS judgments (
    key TEXT PRIMARY KEY,
    rater TEXT NOT NULL,
    judgment TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS judgments_rater ON judgments(rater);
CREATE TABLE IF NOT EXISTS raters (
    rater TEXT PRIMARY KEY,
    identity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stats (
    rater TEXT PRIMARY KEY,
    inserted INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0
);
"""


def default_path() -> Path:
    return cache_dir() / "judgments.sqlite"


def rater_key(identity: dict[str, Any]) -> str:
    """The rater part of a key: spec + weights hash + scoring options."""
    return stable_hash(identity)[:24]


def example_key(rkey: str, ex: Example) -> str:
    """Rater key + hash of what the rater sees: the rendered input, the label space and the output fields."""
    return stable_hash(rkey, render_input(ex), ex.task_type, ex.labels, ex.output_fields)


class JudgmentCache:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=60000")
        self.conn.executescript(SCHEMA)

    def register(self, rkey: str, identity: dict[str, Any]) -> None:
        """Remember what a rater key stands for (spec, weights, options), for ``flame cache info``."""
        blob = json.dumps(identity, sort_keys=True, default=str)
        self.conn.execute("INSERT OR IGNORE INTO raters(rater, identity) VALUES (?, ?)", (rkey, blob))

    def by_rater(self) -> list[tuple[dict[str, Any], int]]:
        """(identity, number of judgments) per rater configuration in the cache."""
        rows = self.conn.execute(
            "SELECT r.identity, COUNT(j.key) FROM raters r LEFT JOIN judgments j ON j.rater = r.rater "
            "GROUP BY r.rater ORDER BY r.identity"
        ).fetchall()
        return [(json.loads(identity), n) for identity, n in rows]

    def get_many(self, keys: Iterable[str]) -> dict[str, Judgment]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Judgment] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.conn.execute(
                f"SELECT key, judgment FROM judgments WHERE key IN ({marks})", chunk
            ):
                found[key] = Judgment.from_dict(json.loads(blob))
        return found

    def get_raw(self, keys: Iterable[str]) -> dict[str, str]:
        """The stored JSON text per key (the runner writes output from it, byte for byte)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                self.conn.execute(f"SELECT key, judgment FROM judgments WHERE key IN ({marks})", chunk)
            )
        return found

    def put_many(self, rkey: str, items: list[tuple[str, Judgment]]) -> None:
        """Store one batch in one transaction (together with its count)."""
        now = time.time()
        with self._transaction():
            inserted = 0
            for key, j in items:
                blob = json.dumps(j.to_dict(), sort_keys=True, ensure_ascii=False)
                cur = self.conn.execute(
                    "INSERT OR IGNORE INTO judgments(key, rater, judgment, created) VALUES (?, ?, ?, ?)",
                    (key, rkey, blob, now),
                )
                inserted += cur.rowcount
            self.conn.execute(
                "INSERT INTO stats(rater, inserted, duplicates) VALUES (?, ?, ?) "
                "ON CONFLICT(rater) DO UPDATE SET inserted = inserted + excluded.inserted, "
                "duplicates = duplicates + excluded.duplicates",
                (rkey, inserted, len(items) - inserted),
            )

    def _transaction(self):
        conn = self.conn

        class _Tx:
            def __enter__(self):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, *_):
                conn.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()

    def stats(self, rkey: str | None = None) -> dict[str, Any]:
        if rkey is None:
            n = self.conn.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]
            raters = self.conn.execute("SELECT COUNT(DISTINCT rater) FROM judgments").fetchone()[0]
            row = self.conn.execute(
                "SELECT COALESCE(SUM(inserted),0), COALESCE(SUM(duplicates),0) FROM stats"
            ).fetchone()
        else:
            n = self.conn.execute("SELECT COUNT(*) FROM judgments WHERE rater = ?", (rkey,)).fetchone()[0]
            raters = int(n > 0)
            row = self.conn.execute(
                "SELECT inserted, duplicates FROM stats WHERE rater = ?", (rkey,)
            ).fetchone() or (0, 0)
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {
            "path": str(self.path),
            "judgments": n,
            "raters": raters,
            "inserted": row[0],
            "duplicates": row[1],
            "bytes": size,
        }

    def clear(self, rkey: str | None = None) -> int:
        with self._transaction():
            if rkey is None:
                n = self.conn.execute("DELETE FROM judgments").rowcount
                self.conn.execute("DELETE FROM stats")
                self.conn.execute("DELETE FROM raters")
            else:
                n = self.conn.execute("DELETE FROM judgments WHERE rater = ?", (rkey,)).rowcount
                self.conn.execute("DELETE FROM stats WHERE rater = ?", (rkey,))
                self.conn.execute("DELETE FROM raters WHERE rater = ?", (rkey,))
        return n

    def close(self) -> None:
        self.conn.close()
