"""Decontamination: find texts shared between datasets (exact and 13-gram overlap) in near-linear time.

Every input field of every row is indexed once. Two checks run on the same index:

* **exact**: the xxhash of ``normalize_text(text)`` (lower case, collapsed whitespace); identical texts
  collapse into one indexed *text* carrying the list of rows (``DocRef``) where it occurs;
* **ngram**: word 13-grams of each distinct text, hashed. Only a deterministic sample of them is kept
  (hash % ``sample_mod`` == 0), so memory and time grow with the corpus, not with its square: the index
  is one array of (n-gram hash, text id) pairs, sorted once; texts that share a hash are candidate pairs.

Only overlaps between *different datasets* count: the judgments of one dataset share their documents by
design (16 summaries of one SummEval article). From the overlaps the report derives

* ``contaminated``: training rows (``eval_only`` False) that overlap a held-out benchmark row, which are
  removed from training;
* ``duplicates``: training rows that one row of another training dataset matches in every field (a
  shared prompt alone is not a duplicate); the copy of the best-ranked dataset is kept (the preference
  rule is documented on ``dataset_rank``).

Pure: no torch, no I/O beyond what is passed in.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import xxhash

from flame.data.preprocess import normalize_text
from flame.types import Example

NGRAM = 13
# Keep one n-gram in four: a 13-gram shared by two copies of a text is kept or dropped in both (the
# choice depends only on the n-gram), so a copied passage of ~60 words still leaves ~12 shared samples.
SAMPLE_MOD = 4
# An n-gram in more than this many distinct texts is boilerplate ("As an AI language model, I cannot
# ..."), not evidence that two rows share a document. SummEval alone puts one article's n-grams into 17
# texts (the article and its extractive summaries), so the cap sits well above that. It also bounds the
# work per n-gram (pairs within one posting list).
MAX_TEXTS_PER_NGRAM = 100
# Near overlap: the shared sampled n-grams cover at least half of the shorter text's sampled n-grams.
# "Of the shorter" catches containment (a benchmark document quoted inside a longer training prompt)
# as well as near copies (an edited word or two breaks at most 13 of the n-grams around it).
MIN_COVERAGE = 0.5
# ... and at least two of them: a text whose sampled n-grams are one repeated n-gram ("<unk> <unk> ...")
# or two ChatGPT answers that share one stock sentence are not copies. Texts under ~20 words have at
# most one or two sampled 13-grams, so they are matched exactly only.
MIN_SHARED = 2
MIN_NGRAM_WORDS = 8  # shorter texts have too few 13-grams to judge (they are still exact-hashed)
MIN_EXACT_CHARS = 30  # shorter texts ("Yes", "Write a poem.") collide by chance, not by copying

# Datasets that redistribute rows of other datasets: on a training duplicate their copy is the one
# dropped, so that the original source is kept (Factbench's halueval-dolly15k and felm-wk rows).
DEFAULT_DEMOTE = ("factcheck_bench", "summac_benchmark")
# Partner rows remembered per training-duplicate candidate and shared text (bounds a quadratic case).
MAX_PARTNERS = 32

_WORD_RE = re.compile(r"\w+")
_ROLL = np.uint64(0x100000001B3)  # FNV prime: odd, so the rolling product keeps all 64 bits in play


@dataclass(frozen=True)
class DocRef:
    """One input field of one row: where an indexed text occurs."""

    task: str
    dataset: str
    example_id: str
    field: str
    eval_only: bool


class TaskLike(Protocol):
    name: str
    dataset: str
    eval_only: bool


@dataclass
class OverlapPair:
    """Rows of task ``a`` and task ``b`` (``dataset/task`` labels, a < b) that share text.

    Counted per kind: a row whose article matches exactly and whose summary matches by n-grams counts
    in both the ``exact`` and the ``ngram`` pair.
    """

    a: str
    b: str
    rows_a: int
    rows_b: int
    kind: str  # "exact" or "ngram"
    examples: list[tuple[str, str]] = field(default_factory=list)  # a few (id in a, id in b)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "kind": self.kind,
            "examples": [list(e) for e in self.examples],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OverlapPair:
        return cls(d["a"], d["b"], d["rows_a"], d["rows_b"], d["kind"], [tuple(e) for e in d["examples"]])


SUMMARY_COLUMNS = ("a", "b", "kind", "rows a", "rows b", "example ids")


@dataclass
class OverlapReport:
    pairs: list[OverlapPair] = field(default_factory=list)
    contaminated: set[tuple[str, str]] = field(default_factory=set)  # (task, example_id), training rows
    duplicates: set[tuple[str, str]] = field(default_factory=set)  # (task, example_id), training rows
    stats: dict[str, int] = field(default_factory=dict)

    def removed(self) -> set[tuple[str, str]]:
        """Every training row to leave out: contaminated or a duplicate copy."""
        return self.contaminated | self.duplicates

    def to_json(self) -> str:
        return json.dumps(
            {
                "pairs": [p.to_dict() for p in self.pairs],
                "contaminated": sorted(list(r) for r in self.contaminated),
                "duplicates": sorted(list(r) for r in self.duplicates),
                "stats": self.stats,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> OverlapReport:
        d = json.loads(text)
        return cls(
            pairs=[OverlapPair.from_dict(p) for p in d["pairs"]],
            contaminated={tuple(r) for r in d["contaminated"]},
            duplicates={tuple(r) for r in d["duplicates"]},
            stats=dict(d.get("stats") or {}),
        )

    def summary_rows(self, max_examples: int = 2) -> list[tuple[str, ...]]:
        """One row of strings per overlapping pair (columns ``SUMMARY_COLUMNS``), most rows first."""
        ordered = sorted(self.pairs, key=lambda p: (-(p.rows_a + p.rows_b), p.a, p.b, p.kind))
        return [
            (
                p.a,
                p.b,
                p.kind,
                str(p.rows_a),
                str(p.rows_b),
                ", ".join(f"{x}~{y}" for x, y in p.examples[:max_examples]),
            )
            for p in ordered
        ]


def dataset_rank(dataset: str, prefer: Sequence[str] = (), demote: Sequence[str] = DEFAULT_DEMOTE) -> tuple:
    """Which copy of a training duplicate is kept: the dataset with the smallest rank.

    Datasets named in ``prefer`` come first (in that order), then every other dataset alphabetically,
    then those in ``demote`` (aggregations that redistribute other datasets' rows) in that order.
    """
    if dataset in prefer:
        return (0, prefer.index(dataset), "")
    if dataset in demote:
        return (2, demote.index(dataset), "")
    return (1, 0, dataset)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads every input bit over the output, so ``% SAMPLE_MOD`` is fair."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class OverlapIndex:
    """Index field texts with ``add``; ``finish`` finds the overlaps between datasets.

    Work is linear in the text indexed plus a sort of the sampled n-gram hashes; candidate pairs come
    only from n-grams shared across datasets (and at most ``max_texts_per_ngram`` texts each).
    """

    def __init__(
        self,
        ngram: int = NGRAM,
        sample_mod: int = SAMPLE_MOD,
        max_texts_per_ngram: int = MAX_TEXTS_PER_NGRAM,
        min_coverage: float = MIN_COVERAGE,
        min_shared: int = MIN_SHARED,
        min_ngram_words: int = MIN_NGRAM_WORDS,
        min_exact_chars: int = MIN_EXACT_CHARS,
        prefer: Sequence[str] = (),
        demote: Sequence[str] = DEFAULT_DEMOTE,
        max_examples: int = 3,
    ):
        self.ngram = ngram
        self.sample_mod = sample_mod
        self.max_texts_per_ngram = max_texts_per_ngram
        self.min_coverage = min_coverage
        self.min_shared = min_shared
        self.min_ngram_words = min_ngram_words
        self.min_exact_chars = min_exact_chars
        self.prefer = tuple(prefer)
        self.demote = tuple(demote)
        self.max_examples = max_examples
        # Tasks are interned: refs are (task index, example id, field) tuples.
        self._tasks: list[tuple[str, str, bool]] = []  # (task, dataset, eval_only)
        self._task_index: dict[str, int] = {}
        self._datasets: list[str] = []
        self._dataset_index: dict[str, int] = {}
        # Distinct normalized texts.
        self._text_of_hash: dict[int, int] = {}
        self._refs: list[list[tuple[int, str, str]]] = []
        self._text_dataset: list[int] = []  # dataset index, or -1 once the text occurs in two datasets
        self._n_sampled: array = array("I")  # sampled n-grams per text
        # The n-gram index: parallel arrays of (hash, text id), sorted in finish().
        self._gram_hashes = array("Q")
        self._gram_texts = array("I")
        self._word_cache: dict[str, int] = {}
        self._short_refs: list[tuple[int, str, str, int]] = []  # (task index, example id, field, hash)
        self.n_refs = 0
        self.n_skipped = 0

    # ------------------------------------------------------------------------------------ indexing

    def add(self, ref: DocRef, text: str) -> None:
        """Index one input field's text. Texts under ``min_exact_chars`` are not matched (counted)."""
        norm = normalize_text(text)
        task_i = self._intern_task(ref)
        dataset_i = self._dataset_index[ref.dataset]
        key = xxhash.xxh64_intdigest(norm.encode("utf-8"))
        if len(norm) < self.min_exact_chars:
            # Not evidence of overlap on its own, but a row is only a training duplicate when all its
            # fields match one row, short ones ("Yes", "7") included: remember each short text's row.
            self.n_skipped += 1
            if norm:
                self._short_refs.append((task_i, ref.example_id, ref.field, key))
            return
        self.n_refs += 1
        text_i = self._text_of_hash.get(key)
        if text_i is not None:
            self._refs[text_i].append((task_i, ref.example_id, ref.field))
            if self._text_dataset[text_i] != dataset_i:
                self._text_dataset[text_i] = -1
            return
        text_i = len(self._refs)
        self._text_of_hash[key] = text_i
        self._refs.append([(task_i, ref.example_id, ref.field)])
        self._text_dataset.append(dataset_i)
        grams = self._sampled_ngrams(norm)
        self._n_sampled.append(len(grams))
        if len(grams):
            self._gram_hashes.frombytes(grams.tobytes())
            self._gram_texts.frombytes(np.full(len(grams), text_i, dtype=np.uint32).tobytes())

    def _intern_task(self, ref: DocRef) -> int:
        i = self._task_index.get(ref.task)
        if i is not None:
            if self._tasks[i][1:] != (ref.dataset, ref.eval_only):
                raise ValueError(
                    f"task {ref.task!r} was indexed as {self._tasks[i][1:]}, now as {(ref.dataset, ref.eval_only)}"
                )
            return i
        self._task_index[ref.task] = len(self._tasks)
        self._tasks.append((ref.task, ref.dataset, ref.eval_only))
        if ref.dataset not in self._dataset_index:
            self._dataset_index[ref.dataset] = len(self._datasets)
            self._datasets.append(ref.dataset)
        return len(self._tasks) - 1

    def _word_hashes(self, words: list[str]) -> np.ndarray:
        cache = self._word_cache
        if len(cache) > 2_000_000:  # bound memory on huge vocabularies; hashes are recomputed the same
            cache.clear()
        hashes = [cache.get(w) for w in words]
        if None in hashes:
            for i, h in enumerate(hashes):
                if h is None:
                    w = words[i]
                    hashes[i] = cache[w] = xxhash.xxh64_intdigest(w.encode("utf-8"))
        return np.array(hashes, dtype=np.uint64)

    def _sampled_ngrams(self, norm: str) -> np.ndarray:
        """The distinct sampled n-gram hashes of a normalized text (uint64, sorted)."""
        words = _WORD_RE.findall(norm)
        if len(words) < max(self.min_ngram_words, self.ngram):
            # 8-12 word texts have no 13-gram: they are matched exactly only.
            return np.empty(0, dtype=np.uint64)
        w = self._word_hashes(words)
        n = len(words) - self.ngram + 1
        # Polynomial rolling hash over the window, computed for every position at once (uint64 wraps).
        h = w[:n].copy()
        for k in range(1, self.ngram):
            h = h * _ROLL + w[k : k + n]
        h = _mix64(h)
        return np.unique(h[h % np.uint64(self.sample_mod) == 0])

    # ----------------------------------------------------------------------------------- matching

    def _near_pairs(self) -> tuple[list[tuple[int, int]], int]:
        """Pairs of distinct texts (from different datasets) that pass the coverage rule."""
        hashes = np.frombuffer(self._gram_hashes, dtype=np.uint64)
        texts = np.frombuffer(self._gram_texts, dtype=np.uint32)
        if len(hashes) == 0:
            return [], 0
        order = np.argsort(hashes, kind="stable")
        hashes, texts = hashes[order], texts[order]
        starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
        sizes = np.diff(np.append(starts, len(hashes)))
        # A text's dataset, or -1 for texts already shared by several datasets (they pair with anything).
        text_dataset = np.asarray(self._text_dataset, dtype=np.int64)[texts]
        lo = np.minimum.reduceat(text_dataset, starts)
        hi = np.maximum.reduceat(text_dataset, starts)
        boilerplate = sizes > self.max_texts_per_ngram
        cross = (sizes > 1) & ~boilerplate & ((lo != hi) | (lo < 0))
        shared: dict[tuple[int, int], int] = defaultdict(int)
        for s, size in zip(starts[cross].tolist(), sizes[cross].tolist(), strict=True):
            group = texts[s : s + size].tolist()
            ds = text_dataset[s : s + size].tolist()
            for x in range(size):
                for y in range(x + 1, size):
                    if ds[x] == ds[y] and ds[x] >= 0:
                        continue  # same single dataset: by design
                    a, b = group[x], group[y]
                    shared[(a, b) if a < b else (b, a)] += 1
        n_sampled = self._n_sampled
        pairs = [
            (a, b)
            for (a, b), k in shared.items()
            if k >= self.min_shared and k >= self.min_coverage * min(n_sampled[a], n_sampled[b])
        ]
        return sorted(pairs), int(boilerplate.sum())

    def finish(self) -> OverlapReport:
        near, n_boilerplate = self._near_pairs()
        acc = _Accumulator(self)
        for text_i, dataset_i in enumerate(self._text_dataset):
            if dataset_i < 0:  # one text in rows of several datasets
                acc.add_edge(text_i, text_i, "exact")
        for a, b in near:
            acc.add_edge(a, b, "ngram")
        report = acc.report()
        report.stats = {
            "refs": self.n_refs,
            "skipped_short": self.n_skipped,
            "texts": len(self._refs),
            "sampled_ngrams": len(self._gram_hashes),
            "boilerplate_ngrams": n_boilerplate,
            "exact_texts_shared": sum(1 for d in self._text_dataset if d < 0),
            "near_text_pairs": len(near),
        }
        return report


class _Accumulator:
    """Turns text-level edges into per-task-pair row counts, contaminated rows and duplicate rows."""

    def __init__(self, index: OverlapIndex):
        self.index = index
        self.tasks = index._tasks
        self.rows: dict[tuple[int, int, str], tuple[set[str], set[str]]] = {}
        self.examples: dict[tuple[int, int, str], list[tuple[str, str]]] = defaultdict(list)
        self.contaminated: set[tuple[str, str]] = set()
        # A candidate duplicate row (task index, example id) -> its partner rows in a better-ranked
        # training dataset -> the candidate's fields that overlap that partner.
        self.dup_partners: dict[tuple[int, str], dict[tuple[int, str], set[str]]] = defaultdict(dict)
        self._by_task_cache: dict[int, dict[int, list[tuple[str, str]]]] = {}

    def _by_task(self, text_i: int) -> dict[int, list[tuple[str, str]]]:
        """The (example id, field) refs of one text, by task."""
        got = self._by_task_cache.get(text_i)
        if got is None:
            got = defaultdict(list)
            for task_i, example_id, field_name in self.index._refs[text_i]:
                got[task_i].append((example_id, field_name))
            got = self._by_task_cache[text_i] = dict(got)
        return got

    def _label(self, task_i: int) -> str:
        task, dataset, _ = self.tasks[task_i]
        return f"{dataset}/{task}"

    def add_edge(self, text_a: int, text_b: int, kind: str) -> None:
        by_a, by_b = self._by_task(text_a), self._by_task(text_b)
        for ta, refs_a in by_a.items():
            for tb, refs_b in by_b.items():
                name_a, dataset_a, eval_a = self.tasks[ta]
                name_b, dataset_b, eval_b = self.tasks[tb]
                if dataset_a == dataset_b:
                    continue
                if text_a == text_b and self._label(ta) > self._label(tb):
                    continue  # one text's refs: each task pair once
                self._count(ta, [r[0] for r in refs_a], tb, [r[0] for r in refs_b], kind)
                if eval_a != eval_b:
                    train_task, train_refs = (name_b, refs_b) if eval_a else (name_a, refs_a)
                    self.contaminated.update((train_task, example_id) for example_id, _ in train_refs)
                elif not eval_a:
                    idx = self.index
                    rank_a = dataset_rank(dataset_a, idx.prefer, idx.demote)
                    rank_b = dataset_rank(dataset_b, idx.prefer, idx.demote)
                    if rank_a < rank_b:
                        drop, drop_refs, keep, keep_refs = tb, refs_b, ta, refs_a
                    else:
                        drop, drop_refs, keep, keep_refs = ta, refs_a, tb, refs_b
                    # A text in many rows would make this quadratic: the first rows are enough partners.
                    partners = list(dict.fromkeys((keep, example_id) for example_id, _ in keep_refs))
                    for example_id, field_name in drop_refs:
                        slot = self.dup_partners[(drop, example_id)]
                        for partner in partners[:MAX_PARTNERS]:
                            slot.setdefault(partner, set()).add(field_name)

    def _count(self, ta: int, ids_a: list[str], tb: int, ids_b: list[str], kind: str) -> None:
        if self._label(ta) > self._label(tb):
            ta, ids_a, tb, ids_b = tb, ids_b, ta, ids_a
        key = (ta, tb, kind)
        if key not in self.rows:
            self.rows[key] = (set(), set())
        self.rows[key][0].update(ids_a)
        self.rows[key][1].update(ids_b)
        examples = self.examples[key]
        if len(examples) < self.index.max_examples and (ids_a[0], ids_b[0]) not in examples:
            examples.append((ids_a[0], ids_b[0]))

    def _duplicates(self) -> set[tuple[str, str]]:
        """Training rows that one row of a better-ranked training dataset matches in every field.

        Long fields match through the exact/n-gram edges, short fields (not matched on their own) by
        equal normalized text. A shared prompt alone is not a duplicate: two datasets may judge different
        responses to one prompt (FELM and TruthfulQA share questions). Factbench's copies of HaluEval
        rows share the prompt and the response, and are dropped.
        """
        index = self.index
        candidates = set(self.dup_partners)
        partner_rows = {p for partners in self.dup_partners.values() for p in partners}
        row_fields: dict[tuple[int, str], set[str]] = defaultdict(set)
        for refs in index._refs:
            for task_i, example_id, field_name in refs:
                if (task_i, example_id) in candidates:
                    row_fields[(task_i, example_id)].add(field_name)
        short_fields: dict[tuple[int, str], list[tuple[str, int]]] = defaultdict(list)
        partner_short: dict[tuple[int, str], set[int]] = defaultdict(set)
        for task_i, example_id, field_name, key in index._short_refs:
            row = (task_i, example_id)
            if row in candidates:
                row_fields[row].add(field_name)
                short_fields[row].append((field_name, key))
            if row in partner_rows:
                partner_short[row].add(key)
        out = set()
        for row, partners in self.dup_partners.items():
            shorts = short_fields.get(row, ())
            for partner, fields in partners.items():
                covered = fields | {f for f, key in shorts if key in partner_short.get(partner, ())}
                if covered >= row_fields[row]:
                    out.add((self.tasks[row[0]][0], row[1]))
                    break
        return out

    def report(self) -> OverlapReport:
        pairs = [
            OverlapPair(
                self._label(ta), self._label(tb), len(ra), len(rb), kind, self.examples[(ta, tb, kind)]
            )
            for (ta, tb, kind), (ra, rb) in self.rows.items()
        ]
        pairs.sort(key=lambda p: (p.a, p.b, p.kind))
        return OverlapReport(pairs, self.contaminated, self._duplicates())


def check_examples(
    examples: Iterable[tuple[TaskLike, Example]], progress: bool = False, **index_options: Any
) -> OverlapReport:
    """Index every input field (``Example.inputs``) of every (task, example) and report the overlaps.

    ``task`` needs ``name``, ``dataset`` and ``eval_only`` (a registered ``Task`` has them).
    """
    index = OverlapIndex(**index_options)

    def add_all(advance=lambda: None) -> None:
        for task, ex in examples:
            for name, text in ex.inputs.items():
                index.add(DocRef(task.name, task.dataset, ex.id, name, bool(task.eval_only)), text)
            advance()

    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        total = len(examples) if isinstance(examples, Sequence) else None
        with Progress(
            TextColumn("decontamination"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as bar:
            job = bar.add_task("index", total=total)
            add_all(lambda: bar.advance(job))
    else:
        add_all()
    return index.finish()
