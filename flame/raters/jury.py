"""A jury: several raters judge each example and their label probabilities are combined.

    jury:length|random          members separated by '|' (a spec never holds one; commas and colons do)
    jury:@members.yaml          a YAML list of specs or of {spec, weight}, or {members: [...], combine: ...}

``combine``: ``mean`` (default) is the weighted mean of the members' label probabilities; ``majority``
gives each member one vote of its weight for its argmax label (a member whose top probability is shared
by k labels gives each 1/k of it), and the probabilities are the vote shares, so an exact tie of votes
stays a tie (P = 0.5 counts half right, as for any rater).

Each member's judgments go through the judgment cache under the member's own identity, so a member rated
alone reuses what it judged in a jury and the other way round; swap is each member's own (its identity
says so). Every combined judgment keeps the members' own answers in ``metadata["members"]``: ``flame
eval`` reads their agreement from there without judging again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flame.errors import FlameError
from flame.raters.base import BaseRater, RaterError, expected_score, judgment_from_probs
from flame.types import Example, Judgment, TaskType

COMBINE = ("mean", "majority")
SEPARATOR = "|"


@dataclass(frozen=True)
class Member:
    spec: str
    weight: float = 1.0


# ------------------------------------------------------------------------------ member lists


def parse_members(arg: str) -> tuple[list[Member], str | None]:
    """``"length|random"`` → two members; ``"@file.yaml"`` → the file's members and its ``combine`` (or None)."""
    arg = arg.strip()
    if arg.startswith("@"):
        return read_members_file(Path(arg[1:]).expanduser())
    specs = [s.strip() for s in arg.split(SEPARATOR)]
    if any(not s for s in specs):
        raise RaterError(f"jury spec 'jury:{arg}' has an empty member (members are separated by '|')")
    return _checked([Member(s) for s in specs], f"jury:{arg}"), None


def read_members_file(path: Path) -> tuple[list[Member], str | None]:
    import yaml

    if not path.is_file():
        raise RaterError(f"jury members file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RaterError(f"jury members file {path}: not YAML ({str(e).splitlines()[0]})") from None
    combine = None
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"members", "combine"})
        if unknown:
            raise RaterError(f"jury members file {path}: unknown keys {unknown} (members, combine)")
        combine = data.get("combine")
        data = data.get("members")
    if not isinstance(data, list):
        raise RaterError(f"jury members file {path}: expected a list of specs or of {{spec, weight}}")
    members = [_member(item, f"{path} item {i + 1}") for i, item in enumerate(data)]
    return _checked(members, str(path)), combine


def _member(item: Any, where: str) -> Member:
    if isinstance(item, str):
        return Member(item.strip())
    if not isinstance(item, dict) or not isinstance(item.get("spec"), str):
        raise RaterError(f"jury member at {where}: expected a spec or {{spec, weight}}, got {item!r}")
    unknown = sorted(set(item) - {"spec", "weight"})
    if unknown:
        raise RaterError(f"jury member at {where}: unknown keys {unknown} (spec, weight)")
    weight = item.get("weight", 1.0)
    # bool is an int to Python; "weight: yes" is a typo, not a weight of 1.
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise RaterError(f"jury member {item['spec']!r} at {where}: weight must be a positive number")
    return Member(item["spec"].strip(), float(weight))


def _checked(members: list[Member], where: str) -> list[Member]:
    if len(members) < 2:
        raise RaterError(f"jury {where} needs at least two members")
    for m in members:
        if m.spec.startswith("jury:") or m.spec == "jury":
            raise RaterError(f"jury member {m.spec!r} in {where}: a jury cannot be a member of a jury")
    return members


# ---------------------------------------------------------------------------- combining rules


def top_labels(probs: dict[str, float]) -> list[str]:
    top = max(probs.values())
    return [lab for lab, p in probs.items() if p >= top - 1e-12]


def mean_probs(
    labels: Sequence[str], member_probs: Sequence[dict[str, float]], weights: Sequence[float]
) -> dict[str, float]:
    """The weighted mean of the members' probabilities, label by label."""
    total = sum(weights)
    return {
        lab: sum(w * p.get(lab, 0.0) for p, w in zip(member_probs, weights, strict=True)) / total
        for lab in labels
    }


def majority_probs(
    labels: Sequence[str], member_probs: Sequence[dict[str, float]], weights: Sequence[float]
) -> dict[str, float]:
    """Vote shares: each member's weight goes to its argmax label, split evenly over exactly tied labels."""
    votes = dict.fromkeys(labels, 0.0)
    for p, w in zip(member_probs, weights, strict=True):
        tops = [lab for lab in top_labels(p) if lab in votes]
        for lab in tops:
            votes[lab] += w / len(tops)
    total = sum(votes.values())
    return {lab: v / total for lab, v in votes.items()}


_RULES = {"mean": mean_probs, "majority": majority_probs}


# ---------------------------------------------------------------------------------- the rater


class JuryRater(BaseRater):
    """Judge with every member, combine their probabilities (see the module docstring).

    ``cache``: the judgment cache file for the members (None: the default path; False: no member cache).
    The runner binds its own file with `bind_cache`, so members and jury share one cache.
    """

    def __init__(
        self,
        members: Sequence[tuple[BaseRater, float]],
        *,
        combine: str = "mean",
        spec: str = "jury",
        cache: str | Path | bool | None = None,
        swap: bool = False,
        seed: int = 0,
        explain: bool | str | None = False,
    ):
        if combine not in COMBINE:
            raise RaterError(f"jury combine must be one of {', '.join(COMBINE)}, not {combine!r}")
        # swap is the members' business: the jury judges each example once and never swaps itself.
        super().__init__(swap=swap, seed=seed, explain=explain)
        self.members = [m for m, _ in members]
        self.weights = [float(w) for _, w in members]
        self.combine = combine
        self.spec = spec
        self._cache_path: Path | None | bool = None if cache is True else cache
        self._local = threading.local()  # SQLite connections belong to the thread that opened them

    # -- explanations: the members' own (their identities carry the mode, so the jury's key does too)
    @property
    def explains(self) -> bool:
        return any(m.explains for m in self.members)

    def cannot_explain(self) -> list[str]:
        return [spec for m in self.members for spec in m.cannot_explain()]

    def drop_explain(self) -> None:
        for m in self.members:
            m.drop_explain()
        self.explain = next((m.explain for m in self.members if m.explain), None)

    def with_explain(self, mode) -> JuryRater:
        other = super().with_explain(mode)
        if other is not self:
            other.members = [m.with_explain(mode) if m.explains else m for m in self.members]
            other._local = threading.local()
        return other

    # -- identity: the members' identities and weights and the rule, never the spelling of the spec
    def cache_identity(self) -> dict[str, Any]:
        return {
            "spec": self.canonical_spec(),
            "combine": self.combine,
            "members": [
                {"identity": m.cache_identity(), "weight": w}
                for m, w in zip(self.members, self.weights, strict=True)
            ],
            "options": {"seed": self.seed},
        }

    def canonical_spec(self) -> str:
        """``jury:length|random (mean; weights 1, 2)``: the same for an inline list and a members file, and
        what ``flame cache info`` shows for the jury."""
        weights = (
            ""
            if all(w == 1.0 for w in self.weights)
            else "; weights " + ", ".join(f"{w:g}" for w in self.weights)
        )
        return f"jury:{SEPARATOR.join(m.spec for m in self.members)} ({self.combine}{weights})"

    def member_names(self) -> list[str]:
        """Member specs, numbered where one spec appears twice."""
        specs = [m.spec for m in self.members]
        return [s if specs.count(s) == 1 else f"{s}#{specs[: i + 1].count(s)}" for i, s in enumerate(specs)]

    def bind_cache(self, path: str | Path) -> None:
        if self._cache_path is not False and self._cache_path != Path(path):
            self._close_cache()
            self._cache_path = Path(path)

    # -- judging
    def judge(self, examples: Sequence[Example]) -> list[Judgment]:
        examples = list(examples)
        per_member = [self._member_judgments(m, examples) for m in self.members]
        self.n_judged += len(examples)
        return [self._combine(ex, [js[i] for js in per_member]) for i, ex in enumerate(examples)]

    def _member_judgments(self, member: BaseRater, examples: list[Example]) -> list[Judgment]:
        db = self._cache()
        if db is None:
            return member.judge(examples)
        from flame.raters.cache import example_key, rater_key

        identity = member.cache_identity()
        rkey = rater_key(identity)
        db.register(rkey, identity)
        keys = [example_key(rkey, ex) for ex in examples]
        found = db.get_many(keys)
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in found:
                first.setdefault(k, i)  # a repeated example is judged once
        todo = list(first.values())
        if todo:
            fresh = member.judge([examples[i] for i in todo])
            db.put_many(rkey, [(keys[i], j) for i, j in zip(todo, fresh, strict=True)])
            # Stored and fresh judgments read alike: both as the cache returns them.
            found.update(db.get_many(keys[i] for i in todo))
        return [found[k] for k in keys]

    def _combine(self, ex: Example, js: list[Judgment]) -> Judgment:
        names = self.member_names()
        record = [_member_record(ex, n, w, j) for n, w, j in zip(names, self.weights, js, strict=True)]
        usable = [(j.probs, w) for j, w in zip(js, self.weights, strict=True) if j.probs is not None]
        if ex.labels is None or not usable:
            # Free text cannot be averaged: the first member that answered speaks for the jury.
            first = next((j for j in js if not j.parse_failure and j.prediction is not None), None)
            out = (
                Judgment(fields=dict(first.fields), raw=first.raw) if first else Judgment(parse_failure=True)
            )
        else:
            rule = _RULES[self.combine]
            out = judgment_from_probs(ex, rule(ex.labels, *zip(*usable, strict=True)), self.seed)
            # Generated fields (an explanation) argue for one answer: the heaviest member that gave the
            # jury's answer speaks for it (every member's own answer stays in metadata["members"]).
            ranked = sorted(zip(js, self.weights, strict=True), key=lambda jw: -jw[1])
            voice = next(
                (j for j, _ in ranked if j.prediction == out.prediction and not j.parse_failure), None
            )
            if voice is not None:
                out.fields.update({k: v for k, v in voice.fields.items() if k != "answer"})
                out.raw = voice.raw
            orders = self._combine_orders(ex, js)
            if orders:
                out.metadata["orders"] = orders
                out.metadata["swap"] = True
        out.truncated = any(j.truncated for j in js)
        out.metadata["members"] = record
        out.metadata["combine"] = self.combine
        return out

    def _combine_orders(self, ex: Example, js: list[Judgment]) -> dict[str, Any] | None:
        """Under swap, the jury's own AB and BA judgments (each the members' combined single orders), so
        position consistency is measured for the jury as for any rater."""
        if not all((j.metadata or {}).get("orders") for j in js):
            return None
        rule = _RULES[self.combine]
        orders: dict[str, Any] = {}
        for name in ("AB", "BA"):
            usable = [
                (j.metadata["orders"][name]["probs"], w)
                for j, w in zip(js, self.weights, strict=True)
                if j.metadata["orders"][name].get("probs") is not None
            ]
            if not usable:
                orders[name] = {"prediction": None, "probs": None, "parse_failure": True}
                continue
            single = judgment_from_probs(ex, rule(ex.labels, *zip(*usable, strict=True)), self.seed)
            orders[name] = {"prediction": single.prediction, "probs": single.probs, "parse_failure": False}
        return orders

    # -- the member cache
    def _cache(self):
        if self._cache_path is False:
            return None
        db = getattr(self._local, "db", None)
        if db is None:
            from flame.raters.cache import JudgmentCache

            db = self._local.db = JudgmentCache(self._cache_path)
        return db

    def _close_cache(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def close(self) -> None:
        self._close_cache()
        for m in self.members:
            m.close()


def _member_record(ex: Example, name: str, weight: float, j: Judgment) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "spec": name,
        "weight": weight,
        "prediction": j.prediction,
        "probs": j.probs,
        "parse_failure": j.parse_failure,
    }
    if ex.task_type == TaskType.POINTWISE and j.probs is not None:
        rec["expected_score"] = expected_score(j.probs)
    return rec


# --------------------------------------------------------------------------------- the factory


def build_jury(arg: str, load: Any, **options: Any) -> JuryRater:
    """The ``jury:`` spec form: members from ``arg``, each built by ``load(spec, **options)``.

    ``combine`` and ``cache`` are the jury's own options; every other option (swap, seed, batch size ...)
    goes to each member, which drops those it does not take, as any rater does."""
    members, file_combine = parse_members(arg)
    combine = options.pop("combine", None) or file_combine or "mean"
    cache = options.pop("cache", None)
    built = []
    try:
        for m in members:
            try:
                built.append((load(m.spec, **options), m.weight))
            except FlameError as e:
                reason = str(e).splitlines()[0].removesuffix(" Valid rater specs:").rstrip(". ")
                raise RaterError(f"jury member {m.spec!r}: {reason}") from None
    except RaterError:
        for r, _ in built:
            r.close()
        raise
    return JuryRater(
        built,
        combine=combine,
        spec=f"jury:{arg}",
        cache=cache,
        swap=bool(options.get("swap", False)),
        seed=int(options.get("seed", 0)),
        explain=options.get("explain", False),
    )
