"""Service metrics in the Prometheus text exposition format (version 0.0.4), with no client library.

Counters, gauges and histograms keyed by label tuples, guarded by one lock: the batcher's worker thread and
the event loop both update them. ``render()`` is what ``GET /metrics`` returns.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(x: float) -> str:
    if x == math.inf:
        return "+Inf"
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()):
        self.name, self.help, self.label_names = name, help, labels

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.values: dict[tuple[str, ...], float] = defaultdict(float)

    def inc(self, *labels: str, by: float = 1.0) -> None:
        self.values[tuple(labels)] += by

    def get(self, *labels: str) -> float:
        return self.values.get(tuple(labels), 0.0)

    def lines(self) -> list[str]:
        rows = self.values.items() or ([((), 0.0)] if not self.label_names else [])
        return [f"{self.name}{_labels(self.label_names, k)} {_num(v)}" for k, v in sorted(rows)]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, *labels: str) -> None:
        self.values[tuple(labels)] = value


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()):
        super().__init__(name, help, labels)
        self.buckets = tuple(buckets) + (math.inf,)
        self.counts: dict[tuple[str, ...], list[int]] = {}
        self.sums: dict[tuple[str, ...], float] = defaultdict(float)

    def observe(self, value: float, *labels: str) -> None:
        key = tuple(labels)
        counts = self.counts.setdefault(key, [0] * len(self.buckets))
        for i, upper in enumerate(self.buckets):
            if value <= upper:
                counts[i] += 1  # cumulative: every bucket at or above the value
        self.sums[key] += value

    def count(self, *labels: str) -> int:
        return self.counts.get(tuple(labels), [0])[-1]

    def lines(self) -> list[str]:
        out = []
        for key, counts in sorted(self.counts.items()):
            for upper, c in zip(self.buckets, counts, strict=True):
                le = 'le="' + _num(upper) + '"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {c}")
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} {_num(self.sums[key])}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {counts[-1]}")
        return out


class Metrics:
    """Every metric the service exports."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = Counter(
            "flame_requests_total", "HTTP requests by route and status code", ("route", "status")
        )
        self.latency = Histogram(
            "flame_request_latency_seconds", "Request latency by route", LATENCY_BUCKETS, ("route",)
        )
        self.batch_size = Histogram(
            "flame_batch_size", "Items per rater call (one forward pass)", BATCH_BUCKETS
        )
        self.items = Counter("flame_items_total", "Judged items by source (cache or rater)", ("source",))
        self.cache_hits = Counter("flame_cache_hits_total", "Items answered from the SQLite judgment cache")
        self.cache_misses = Counter("flame_cache_misses_total", "Items the rater had to judge")
        self.rater_errors = Counter(
            "flame_rater_errors_total", "Rater calls that raised or timed out", ("kind",)
        )
        self.rejected = Counter("flame_rejected_total", "Requests refused before judging", ("reason",))
        self.queue_depth = Gauge("flame_queue_depth", "Items waiting for or in a rater call")
        self._all = (
            self.requests,
            self.latency,
            self.batch_size,
            self.items,
            self.cache_hits,
            self.cache_misses,
            self.rater_errors,
            self.rejected,
            self.queue_depth,
        )

    def record_request(self, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests.inc(route, str(status))
            self.latency.observe(seconds, route)

    def render(self) -> str:
        with self.lock:
            lines = []
            for m in self._all:
                lines += m.header() + m.lines()
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
