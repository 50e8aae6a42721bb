"""`flame arena`: rank systems by a rater's pairwise verdicts on their responses to the same prompts.

Input rows: ``{"id", "prompt" (or "messages"), "responses": {system: text}, "reference"?}``. Every pair of
systems that answered a prompt is built with `flame.adhoc.pairwise_example` (the one way in, so the same pair
renders, and caches, the same everywhere) and judged through the runner with ``swap=True``: both orders,
averaged, so the rater's position bias cancels. The runner's cache makes a rerun free and a killed run
resume. For many systems ``max_pairs_per_prompt`` judges a seeded sample of the pairs of each prompt.

A pair's verdict is its swap-averaged P(A). Scored as an outcome (the default) it is a win above 0.5, a
loss below and a tie (half a point) at exactly 0.5; scored as a probability, system A earns P(A) itself.
From the points: win rates, the pairwise win matrix and a Bradley–Terry fit (`flame.evaluate.bradley_terry`)
with bootstrap 95% CIs over prompts. Written to ``arena.json``, ``arena.md``, ``arena.png`` and
``pairs.jsonl`` (one line per judged pair).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flame.adhoc import pairwise_example
from flame.cliargs import NON_NEGATIVE_INT, POSITIVE_INT, TOKEN_BUDGET
from flame.errors import CliError, FlameError
from flame.jsonio import read_jsonl
from flame.types import Example, Judgment

# numpy, the fit and the data layer's readers are imported where used: `flame --help` builds this parser,
# and must start without them (flame.cli imports no numpy).
if TYPE_CHECKING:
    from flame.evaluate import bradley_terry as bt

TASK = "arena"
TIE_TOLERANCE = 1e-9  # |P(A) - 0.5| below this is a tie: the length rater's equal lengths give exactly 0.5
SCORINGS = ("outcome", "probability")


@dataclass
class ArenaRow:
    id: str
    lineno: int
    prompt: str
    responses: dict[str, str]
    reference: str | None = None


@dataclass
class Pair:
    row: int  # index into the rows: the bootstrap's unit
    a: str
    b: str
    example: Example


@dataclass
class ArenaResult:
    systems: list[dict[str, Any]]
    matrix: dict[str, dict[str, float | None]]
    problems: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ inputs


def parse_row(obj: Any, lineno: int) -> ArenaRow:
    """One input row; any problem raises ``ValueError`` with a one-line reason."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object, got {type(obj).__name__}")
    if "messages" in obj:
        from flame.data.files import render_messages

        if "prompt" in obj:
            raise ValueError("both 'prompt' and 'messages': give one")
        prompt = render_messages(obj["messages"])
    else:
        prompt = obj.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("missing or empty 'prompt' (or 'messages')")
    responses = obj.get("responses")
    if not isinstance(responses, dict) or not responses:
        raise ValueError("'responses' must be an object {system: text}")
    for name, text in responses.items():
        if not isinstance(text, str):
            raise ValueError(f"response of {name!r} is {type(text).__name__}, not text")
    reference = obj.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ValueError(f"'reference' is {type(reference).__name__}, not text")
    rid = obj.get("id", lineno)
    if not isinstance(rid, str | int) or isinstance(rid, bool):
        raise ValueError(f"'id' is {type(rid).__name__}, not text or an integer")
    return ArenaRow(str(rid), lineno, prompt, dict(responses), reference)


def load_rows(path: str | Path) -> tuple[list[ArenaRow], list[str]]:
    """Rows of a JSONL file; malformed lines become ``file:line: why`` problems (the good rows are kept)."""
    path = Path(path)
    rows, problems = [], []
    seen: dict[str, int] = {}
    for line in read_jsonl(path):
        try:
            if line.problem is not None:
                raise ValueError(line.problem)
            row = parse_row(line.value, line.lineno)
            if row.id in seen:
                raise ValueError(f"id {row.id!r} repeats line {seen[row.id]}")
            seen[row.id] = row.lineno
            rows.append(row)
        except ValueError as e:
            problems.append(f"{path}:{line.lineno}: {e}")
    return rows, problems


def systems_of(rows: Sequence[ArenaRow]) -> list[str]:
    """Every system named in any row, in first-seen order."""
    return list(dict.fromkeys(name for r in rows for name in r.responses))


def missing_systems(rows: Sequence[ArenaRow], systems: Sequence[str], path: str | Path) -> list[str]:
    """A ``file:line:`` line for each row lacking systems the others have (it still gives the pairs it has)."""
    out = []
    for r in rows:
        lacking = [s for s in systems if s not in r.responses]
        if lacking:
            note = "" if len(r.responses) >= 2 else "; fewer than two systems, so no pairs"
            out.append(f"{path}:{r.lineno}: id {r.id!r} lacks {', '.join(lacking)}{note}")
    return out


def build_pairs(
    rows: Sequence[ArenaRow],
    systems: Sequence[str],
    *,
    max_pairs_per_prompt: int | None = None,
    seed: int = 0,
    criterion: str | None = None,
) -> list[Pair]:
    """Every pair of systems per row (round robin), or a seeded sample of ``max_pairs_per_prompt`` of them.

    A is the system named first in ``systems``; the rater's swap judges both orders, so this choice does
    not favor either. The sample is drawn per row from ``(seed, row id)``: adding rows leaves the others'
    pairs, and so their cache entries, as they were.
    """
    order = {s: k for k, s in enumerate(systems)}
    pairs = []
    for k, r in enumerate(rows):
        names = sorted(r.responses, key=order.__getitem__)
        combos = list(itertools.combinations(names, 2))
        if max_pairs_per_prompt is not None and len(combos) > max_pairs_per_prompt:
            picked = random.Random(f"{seed}:{r.id}").sample(range(len(combos)), max_pairs_per_prompt)
            combos = [combos[i] for i in sorted(picked)]
        metadata = {"row": r.id}
        if r.reference is not None:
            # The pairwise renderer has no reference field; it travels with the example, unseen by the rater.
            metadata["reference"] = r.reference
        for a, b in combos:
            ex = pairwise_example(
                r.prompt,
                r.responses[a],
                r.responses[b],
                criterion=criterion,
                task=TASK,
                id=f"{r.id}:{a}|{b}",
                metadata={**metadata, "system A": a, "system B": b},
            )
            pairs.append(Pair(k, a, b, ex))
    return pairs


# ------------------------------------------------------------------------------------ scoring


def verdict(j: Judgment) -> float | None:
    """The swap-averaged P(A), renormalized over A and B; None for a parse failure or no probabilities."""
    probs = j.probs
    if j.parse_failure or not probs:
        return None
    pa, pb = float(probs.get("A", 0.0)), float(probs.get("B", 0.0))
    if pa + pb <= 0:
        return None
    return pa / (pa + pb)


def points(p_a: float, scoring: str = "outcome") -> float:
    """What system A earns from a verdict: 1 / 0.5 / 0 as an outcome (ties as half), or P(A) itself."""
    if scoring == "probability":
        return p_a
    if abs(p_a - 0.5) < TIE_TOLERANCE:
        return 0.5
    return 1.0 if p_a > 0.5 else 0.0


def standings(
    systems: Sequence[str],
    verdicts: bt.Verdicts,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, float | None]], bt.Fit]:
    """Per system: strength (logit, mean 0) with its CI, Elo, win rate, games; the win matrix; the fit."""
    import numpy as np

    from flame.evaluate import bradley_terry as bt

    n = len(systems)
    wins, games = bt.win_counts(verdicts, n)
    present = np.flatnonzero(games.sum(axis=1) > 0)
    if not bt.connected(games, present):
        raise FlameError(
            "the pairs judged do not connect every system (some groups never met): "
            "their strengths cannot be compared; judge more pairs per prompt"
        )
    result = bt.bootstrap_fit(verdicts, n, n_resamples=n_resamples, seed=seed)
    rates = bt.win_rates(wins, games)
    matrix = bt.win_matrix(wins, games)
    elos = bt.elo(result.theta)
    rows = []
    for k, name in enumerate(systems):
        rows.append(
            {
                "system": name,
                "strength": _num(result.theta[k]),
                "low": _num(result.low[k]),
                "high": _num(result.high[k]),
                "elo": _num(elos[k]),
                "win_rate": _num(rates[k]),
                "games": int(games[k].sum()),
                "wins": float(np.sum(wins[k])),
            }
        )
    # The strongest first; a system no sampled pair reached (no strength) last.
    rows.sort(key=lambda r: (r["strength"] is None, -(r["strength"] or 0.0), r["system"]))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    table = {
        a: {b: _num(matrix[i, j]) for j, b in enumerate(systems) if i != j} for i, a in enumerate(systems)
    }
    return rows, table, result


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


# ------------------------------------------------------------------------------------ the run


def run_arena(
    rater: Any,
    input: str | Path,
    out: str | Path,
    *,
    cache: Any = None,
    seed: int = 0,
    n_resamples: int = 1000,
    max_pairs_per_prompt: int | None = None,
    scoring: str = "outcome",
    criterion: str | None = None,
    batch_size: int = 8,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> ArenaResult:
    """Judge the pairs of ``input`` with ``rater`` (a spec or a rater; swap is forced on), write ``out``."""
    from flame.evaluate import bradley_terry as bt
    from flame.raters.runner import rate

    log = log or (lambda _msg: None)
    if scoring not in SCORINGS:
        raise FlameError(f"scoring {scoring!r} is not one of {', '.join(SCORINGS)}")
    if isinstance(rater, str):
        from flame.raters import load_rater

        rater = load_rater(rater, swap=True, seed=seed)
    elif not getattr(rater, "swap", False):
        raise FlameError(f"{rater!r}: an arena judges both orders; build the rater with swap=True")
    rows, problems = load_rows(input)
    systems = systems_of(rows)
    if len(systems) < 2:
        raise FlameError(
            f"{input}: {len(rows)} usable rows name {len(systems)} system(s); an arena needs two"
        )
    missing = missing_systems(rows, systems, input)
    for line in problems + missing:
        log(f"warning: {line}")
    pairs = build_pairs(
        rows, systems, max_pairs_per_prompt=max_pairs_per_prompt, seed=seed, criterion=criterion
    )
    if not pairs:
        raise FlameError(f"{input}: no row has two systems to compare")
    log(f"{rater.spec}: {len(pairs)} pairs of {len(systems)} systems over {len(rows)} prompts (both orders)")
    judged = rate([p.example for p in pairs], rater, cache=cache, batch_size=batch_size, progress=progress)
    index = {s: k for k, s in enumerate(systems)}
    records, triples, failures = [], [], 0
    for p, j in zip(pairs, judged.judgments, strict=True):
        v = verdict(j)
        record = {"id": p.example.id, "row": rows[p.row].id, "system_a": p.a, "system_b": p.b, "p_a": v}
        if v is None:
            failures += 1
            record["parse_failure"] = True
        else:
            record["points_a"] = points(v, scoring)
            triples.append((index[p.a], index[p.b], record["points_a"], p.row))
        records.append(record)
    if not triples:
        raise FlameError(f"{rater.spec}: every one of {len(pairs)} judgments failed to parse")
    table, matrix, fitted = standings(
        systems, bt.Verdicts.from_rows(triples), n_resamples=n_resamples, seed=seed
    )
    summary = {
        "rater": rater.spec,
        "rater_identity": rater.cache_identity(),
        "input": str(input),
        "scoring": scoring,
        "criterion": criterion,
        "seed": seed,
        "n_resamples": n_resamples,
        "resamples_failed": fitted.n_failed,
        "max_pairs_per_prompt": max_pairs_per_prompt,
        "n_rows": len(rows),
        "n_systems": len(systems),
        "n_pairs": len(pairs),
        "n_cached": judged.n_cached,
        "n_judged": judged.n_judged,
        "parse_failures": failures,
        "ties": sum(1 for r in records if r.get("p_a") is not None and points(r["p_a"]) == 0.5),
    }
    result = ArenaResult(table, matrix, problems=problems + missing, summary=summary)
    result.files = write_outputs(Path(out), result, records)
    return result


# ------------------------------------------------------------------------------------ outputs


def write_outputs(out: Path, result: ArenaResult, records: list[dict[str, Any]]) -> dict[str, Path]:
    from flame.evaluate.harness import environment
    from flame.evaluate.results import jsonable, write_jsonl

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "json": out / "arena.json",
        "md": out / "arena.md",
        "png": out / "arena.png",
        "pairs": out / "pairs.jsonl",
    }
    doc = {
        **result.summary,
        "environment": environment(),
        "systems": result.systems,
        "win_matrix": result.matrix,
        "problems": result.problems,
    }
    files["json"].write_text(json.dumps(jsonable(doc), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files["md"].write_text(markdown(result), encoding="utf-8")
    write_jsonl(files["pairs"], records)
    plot(result.systems, files["png"], title=f"{result.summary.get('rater', '')}: Bradley–Terry strengths")
    return files


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(result: ArenaResult) -> str:
    s = result.summary
    lines = [
        f"# Arena: {s.get('rater', '')}",
        "",
        f"{s.get('n_systems')} systems, {s.get('n_rows')} prompts, {s.get('n_pairs')} pairs judged in both orders "
        f"({s.get('n_judged')} judged now, {s.get('n_cached')} from the cache); parse failures: "
        f"{s.get('parse_failures')}; ties: {s.get('ties')}; scoring: {s.get('scoring')}.",
        "",
        "Strength: Bradley–Terry log-strength (mean 0), with a 95% bootstrap CI over prompts "
        f"({s.get('n_resamples')} resamples, seed {s.get('seed')}). Win rate: share of points, ties as half.",
        "",
        "| rank | system | strength | 95% CI | Elo | win rate | games |",
        "|---:|---|---:|---|---:|---:|---:|",
    ]
    for r in result.systems:
        lines.append(
            f"| {r['rank']} | {r['system']} | {_fmt(r['strength'])} | [{_fmt(r['low'])}, {_fmt(r['high'])}] "
            f"| {_fmt(r['elo'], 0)} | {_fmt(r['win_rate'], 3)} | {r['games']} |"
        )
    names = [r["system"] for r in result.systems]
    lines += [
        "",
        "## Win matrix",
        "",
        "Row system's share of points against the column system.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for a in names:
        cells = ["" if a == b else _fmt(result.matrix[a].get(b), 2) for b in names]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    if result.problems:
        lines += ["", "## Input problems", ""] + [f"- {p}" for p in result.problems]
    return "\n".join(lines) + "\n"


def plot(systems: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    import numpy as np

    from flame.evaluate.plots import _plt

    plt = _plt()
    shown = [r for r in systems if r["strength"] is not None][::-1]  # the strongest on top
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(shown) + 1.2))
    y = np.arange(len(shown))
    theta = np.array([r["strength"] for r in shown])
    low = np.array([r["low"] if r["low"] is not None else r["strength"] for r in shown])
    high = np.array([r["high"] if r["high"] is not None else r["strength"] for r in shown])
    ax.errorbar(theta, y, xerr=[theta - low, high - theta], fmt="o", capsize=3)
    ax.set_yticks(y, [r["system"] for r in shown])
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("Bradley–Terry log-strength (95% CI)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------ CLI


def add_arena_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "arena", help="rank systems by a rater's pairwise verdicts (Bradley–Terry, CIs)"
    )
    p.add_argument("--rater", required=True, help="rater spec: smollm2, hf:PATH, run:DIR, length ...")
    p.add_argument(
        "--input", required=True, help="JSONL rows: id, prompt (or messages), responses {system: text}"
    )
    p.add_argument(
        "--out", required=True, help="output folder (arena.json, arena.md, arena.png, pairs.jsonl)"
    )
    p.add_argument(
        "--max-pairs-per-prompt",
        type=POSITIVE_INT,
        default=None,
        help="judge a seeded sample of this many pairs per prompt (default: every pair)",
    )
    p.add_argument("--scoring", choices=SCORINGS, default="outcome", help="a verdict as win/tie/loss or P(A)")
    p.add_argument("--criterion", default=None, help="what 'better' means (replaces the default instruction)")
    p.add_argument(
        "--seed", type=NON_NEGATIVE_INT, default=0, help="pair sampling, tie-break and bootstrap seed"
    )
    p.add_argument(
        "--resamples", type=POSITIVE_INT, default=1000, help="bootstrap resamples for the 95%% CIs"
    )
    p.add_argument(
        "--cache", default=None, help="judgment cache (SQLite; default FLAME_CACHE/judgments.sqlite)"
    )
    p.add_argument("--batch-size", type=POSITIVE_INT, default=8)
    p.add_argument("--max-length", type=TOKEN_BUDGET, default=None)
    p.add_argument("--threads", type=POSITIVE_INT, default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_arena)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_arena(args) -> int:
    from flame.raters import load_rater

    if not Path(args.input).is_file():
        raise CliError(f"--input {args.input}: no such file")
    options = {k: v for k in ("max_length", "threads") if (v := getattr(args, k, None)) is not None}
    rater = load_rater(args.rater, swap=True, seed=args.seed, **options)
    result = run_arena(
        rater,
        args.input,
        args.out,
        cache=args.cache,
        seed=args.seed,
        n_resamples=args.resamples,
        max_pairs_per_prompt=args.max_pairs_per_prompt,
        scoring=args.scoring,
        criterion=args.criterion,
        batch_size=args.batch_size,
        progress=not args.quiet,
        log=_log,  # --quiet hides the progress bar only: input problems are always reported
    )
    for r in result.systems:
        print(
            f"{r['rank']:>3}  {r['system']}  {_fmt(r['strength'])} [{_fmt(r['low'])}, {_fmt(r['high'])}]"
            f"  win rate {_fmt(r['win_rate'], 3)}"
        )
    print("wrote " + ", ".join(str(p) for p in result.files.values()))
    return 0
