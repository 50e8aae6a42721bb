"""What an evaluation run holds: typed metric entries and ``Results``, saved as ``results.json``.

``results.json`` (one JSON object; ``null`` where a figure is undefined, since JSON has no NaN):

- ``flame_version``, ``config`` (the resolved run settings: raters, benchmarks, limit, seeds, bootstrap),
  ``environment`` (git commit, package versions, platform, argv, time), ``files`` (the JSONL files beside it).
- ``raters``: ``{spec, weights, identity}`` per rater.
- ``benchmarks``: one record per benchmark: ``name, version, type, group, primary, aggregate`` (``pooled``
  or the aggregate function's dotted path), ``sections`` (``[{name, subsets, aggregate}]``, often empty),
  ``scored_whole``, ``cap`` (rows per subset, null: all), ``source``, ``n``, ``subsets``
  (``[{name, task, n, available}]``), ``malformed_rows``, ``problems`` and the descriptive fields.
- ``metrics``: one ``MetricEntry`` per figure: ``{rater, benchmark, subset, metric, value, ci_low, ci_high,
  n, kind}``. ``kind`` says what ``subset`` names: ``subset`` (one subset), ``section`` (a benchmark's
  section, e.g. RewardBench's ``Chat``), ``benchmark`` (the whole benchmark, ``subset`` = ``all``) or
  ``group`` (a suite mean such as ``pairwise mean``, named in ``benchmark``; ``subset`` = ``all``).
- ``counts`` (rows, parse failures, ties, truncations per rater and subset), ``calibration``,
  ``contamination``.
- ``paired``: one ``PairedEntry`` per (rater pair, benchmark): ``{rater_a, rater_b, benchmark, metric,
  difference, ci_low, ci_high, n, test, a_only, b_only, halves, p, p_holm, family}``: the primary metric of
  A minus B with its paired bootstrap CI and, for accuracy, McNemar's exact test (``test`` = ``mcnemar``;
  ``a_only``/``b_only`` the discordant rows, ``halves`` the rows left out for a half credit) with its
  Holm-adjusted p over the ``family`` of the pair's tested benchmarks (``flame.evaluate.paired``).
- ``jury_members``: for each jury (a ``jury:`` rater) and benchmark, one ``MemberEntry`` per member:
  ``{rater, benchmark, member, weight, metric, value, ci_low, ci_high, n, parse_failures}``, the member's
  agreement with humans on the benchmark's primary metric, read from the jury's judgments (the jury's own
  value is its ``metrics`` entry).
- ``jury_agreement``: ``AgreementEntry`` ``{rater, benchmark, statistic, member_a, member_b, value, n}``
  on the members' argmax labels: ``cohen_kappa`` per member pair, ``krippendorff_alpha`` (nominal) over
  all members (``member_a`` = ``member_b`` = ``all``); ``n`` the rows (κ) or pairable values (α) used.

Readers that only look up ``(rater, benchmark, subset, metric)`` (``flame.evaluate.summary``, the demo's
summary table) work on files written before ``kind`` existed; ``Results.load`` infers it for them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from flame import __version__
from flame.evaluate.paired import beats

ALL = "all"  # the subset name of a benchmark's (or group's) aggregate

Kind = Literal["subset", "section", "benchmark", "group"]
_FLOATS = ("value", "ci_low", "ci_high")


@dataclass(frozen=True)
class MetricEntry:
    """One figure: a rater's metric on a subset, a section, a whole benchmark or a suite group, with its
    95% bootstrap interval and the rows it used."""

    rater: str
    benchmark: str  # a benchmark's name, or a group's ("pairwise mean") when kind is "group"
    subset: str  # a subset or section name; ALL for a benchmark or a group
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    kind: Kind = "benchmark"

    def key(self) -> tuple[str, str, str, str]:
        return (self.rater, self.benchmark, self.subset, self.metric)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], kind: Kind | None = None) -> MetricEntry:
        """An entry from results.json (null figures → NaN); ``kind`` when the file predates it."""
        floats = {k: math.nan if d.get(k) is None else float(d[k]) for k in _FLOATS}
        return cls(
            rater=d["rater"],
            benchmark=d["benchmark"],
            subset=d["subset"],
            metric=d["metric"],
            n=int(d["n"]),
            kind=d.get("kind") or kind or ("benchmark" if d["subset"] == ALL else "subset"),
            **floats,
        )


@dataclass(frozen=True)
class PairedEntry:
    """Rater A against rater B on one benchmark's rows: the primary metric's difference (A − B) with its
    paired 95% bootstrap interval, and for accuracy McNemar's exact p, raw and Holm-adjusted."""

    rater_a: str
    rater_b: str
    benchmark: str
    metric: str
    difference: float
    ci_low: float
    ci_high: float
    n: int  # rows both raters were scored on (the smaller of their counts)
    test: str | None = None  # "mcnemar", or None: the CI alone (a metric other than accuracy)
    a_only: int = 0  # rows A got right and B wrong
    b_only: int = 0
    halves: int = 0  # rows where either earned half (P = 0.5): in the difference, not in McNemar
    p: float = math.nan
    p_holm: float = math.nan
    family: int = 0  # the Holm family: this pair's tested benchmarks in the run
    mismatched: int = 0  # comparisons of two runs: rows found in one run only, or with another input

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PairedEntry:
        nan_floats = {"difference", "ci_low", "ci_high", "p", "p_holm"}
        return cls(**{k: (math.nan if v is None and k in nan_floats else v) for k, v in d.items()})

    def significant(self) -> bool:
        return beats(self.difference, self.ci_low, self.ci_high, self.p_holm if self.test else None)


@dataclass(frozen=True)
class MemberEntry:
    """One jury member's agreement with humans: the benchmark's primary metric with its 95% bootstrap
    interval, as if the member had been rated alone (its judgments are the jury's cached member answers)."""

    rater: str  # the jury
    benchmark: str
    member: str
    weight: float
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    parse_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MemberEntry:
        return cls(**{k: (math.nan if v is None and k in _FLOATS else v) for k, v in d.items()})


Statistic = Literal["cohen_kappa", "krippendorff_alpha"]


@dataclass(frozen=True)
class AgreementEntry:
    """How much a jury's members agree with each other on one benchmark (``flame.evaluate.agreement``)."""

    rater: str  # the jury
    benchmark: str
    statistic: Statistic
    member_a: str  # ALL for Krippendorff's alpha over every member
    member_b: str
    value: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AgreementEntry:
        return cls(**{**d, "value": math.nan if d.get("value") is None else float(d["value"])})


def _infer_kind(d: dict[str, Any], benchmarks: dict[str, dict[str, Any]]) -> Kind:
    bench = benchmarks.get(d["benchmark"])
    if bench is None:
        return "group"
    if d["subset"] == ALL:
        return "benchmark"
    sections = {s["name"] for s in bench.get("sections") or []}
    return "section" if d["subset"] in sections else "subset"


@dataclass
class Results:
    config: dict[str, Any]
    raters: list[dict[str, Any]]
    benchmarks: list[dict[str, Any]]
    metrics: list[MetricEntry]
    counts: list[dict[str, Any]]
    calibration: list[dict[str, Any]] = field(default_factory=list)
    contamination: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    predictions: list[dict[str, Any]] = field(default_factory=list, repr=False)
    examples: list[dict[str, Any]] = field(default_factory=list, repr=False)
    paired: list[PairedEntry] = field(default_factory=list)
    jury_members: list[MemberEntry] = field(default_factory=list)
    jury_agreement: list[AgreementEntry] = field(default_factory=list)
    out: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "flame_version": __version__,
            "config": self.config,
            "raters": self.raters,
            "benchmarks": self.benchmarks,
            "metrics": [m.to_dict() for m in self.metrics],
            "counts": self.counts,
            "calibration": self.calibration,
            "contamination": self.contamination,
            "paired": [p.to_dict() for p in self.paired],
            "jury_members": [m.to_dict() for m in self.jury_members],
            "jury_agreement": [a.to_dict() for a in self.jury_agreement],
            "environment": self.environment,
            "files": {"predictions": "predictions.jsonl", "examples": "examples.jsonl"},
        }

    def rater_specs(self) -> list[str]:
        return [r["spec"] for r in self.raters]

    def get(
        self, rater: str, benchmark: str, metric: str | None = None, subset: str = ALL
    ) -> MetricEntry | None:
        """The entry for (rater, benchmark, subset, metric); metric None: the benchmark's primary."""
        if metric is None:
            metric = next((b["primary"] for b in self.benchmarks if b["name"] == benchmark), None)
            metric = metric or next(
                (m.metric for m in self.metrics if m.benchmark == benchmark and m.subset == subset), None
            )
        return next((m for m in self.metrics if m.key() == (rater, benchmark, subset, metric)), None)

    def value(self, rater: str, benchmark: str, metric: str | None = None, subset: str = ALL) -> float:
        m = self.get(rater, benchmark, metric, subset)
        if m is None:
            raise KeyError(f"no metric {metric!r} for {rater} on {benchmark}/{subset}")
        return m.value

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(jsonable(self.to_dict()), indent=1, ensure_ascii=False))
        write_jsonl(out / "predictions.jsonl", self.predictions)
        write_jsonl(out / "examples.jsonl", self.examples)
        self.out = out
        return out / "results.json"

    @classmethod
    def load(cls, out: str | Path) -> Results:
        out = Path(out)
        path = out / "results.json" if out.is_dir() else out
        if not path.exists():
            raise FileNotFoundError(f"no results.json in {out}")
        d = json.loads(path.read_text())
        base = path.parent
        benches = {b["name"]: b for b in d["benchmarks"]}
        return cls(
            config=d["config"],
            raters=d["raters"],
            benchmarks=d["benchmarks"],
            metrics=[MetricEntry.from_dict(m, _infer_kind(m, benches)) for m in d["metrics"]],
            counts=d.get("counts", []),
            calibration=d.get("calibration", []),
            contamination=d.get("contamination", []),
            environment=d.get("environment", {}),
            predictions=read_jsonl(base / "predictions.jsonl"),
            examples=read_jsonl(base / "examples.jsonl"),
            paired=[PairedEntry.from_dict(p) for p in d.get("paired", [])],
            jury_members=[MemberEntry.from_dict(m) for m in d.get("jury_members", [])],
            jury_agreement=[AgreementEntry.from_dict(a) for a in d.get("jury_agreement", [])],
            out=base,
        )


def jsonable(x: Any) -> Any:
    """NaN → null (JSON has no NaN), numpy scalars → Python numbers."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
