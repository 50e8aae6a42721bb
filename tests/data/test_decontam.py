"""Decontamination index on literal texts: exact and near overlaps, boilerplate cap, report sets."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from flame.data.decontam import (
    SUMMARY_COLUMNS,
    DocRef,
    OverlapIndex,
    OverlapReport,
    check_examples,
    dataset_rank,
)
from flame.types import Example, TaskType

_VOCAB = (
    "river stone market engine harbor lantern meadow signal garden pocket violin thunder copper "
    "orbit candle shadow basket mirror forest ribbon tunnel anchor feather glacier saddle crystal "
    "window ladder canyon pepper marble rocket blanket compass harvest island jacket kettle lemon "
    "needle oyster parrot quartz rabbit silver tomato umbrella velvet walnut yogurt zipper"
)
WORDS = _VOCAB.split()


def article(seed: int, n: int = 100) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def ref(task: str, dataset: str, example_id: str, eval_only: bool = False, field: str = "article") -> DocRef:
    return DocRef(task, dataset, example_id, field, eval_only)


def pair_kinds(report: OverlapReport) -> set[tuple[str, str, str]]:
    return {(p.a, p.b, p.kind) for p in report.pairs}


def test_exact_duplicate_across_datasets_is_found():
    index = OverlapIndex()
    text = article(1)
    index.add(ref("train_v1", "alpha", "a1"), text)
    # Case and whitespace differences normalize away.
    index.add(ref("bench_v1", "beta", "b7", eval_only=True), "  " + text.upper().replace(" ", "\n "))
    report = index.finish()
    assert pair_kinds(report) == {("alpha/train_v1", "beta/bench_v1", "exact")}
    (pair,) = report.pairs
    assert (pair.rows_a, pair.rows_b, pair.examples) == (1, 1, [("a1", "b7")])
    assert report.contaminated == {("train_v1", "a1")}
    assert report.duplicates == set()


def test_near_duplicate_one_word_changed_is_found():
    text = article(2)
    words = text.split()
    words[50] = "CHANGED"
    index = OverlapIndex()
    index.add(ref("train_v1", "alpha", "a1"), text)
    index.add(ref("bench_v1", "beta", "b1", eval_only=True), " ".join(words))
    report = index.finish()
    assert pair_kinds(report) == {("alpha/train_v1", "beta/bench_v1", "ngram")}
    assert report.contaminated == {("train_v1", "a1")}


def test_containment_in_a_longer_text_is_found():
    # A benchmark article quoted inside a longer training prompt: coverage is of the shorter text.
    index = OverlapIndex()
    index.add(
        ref("train_v1", "alpha", "a1", field="prompt"), article(3, 300) + " " + article(4) + " " + article(5)
    )
    index.add(ref("bench_v1", "beta", "b1", eval_only=True), article(4))
    assert pair_kinds(index.finish()) == {("alpha/train_v1", "beta/bench_v1", "ngram")}


def test_unrelated_texts_are_not_found():
    index = OverlapIndex()
    for i in range(20):
        index.add(ref("train_v1", "alpha", f"a{i}"), article(100 + i))
        index.add(ref("bench_v1", "beta", f"b{i}", eval_only=True), article(200 + i))
    report = index.finish()
    assert report.pairs == [] and report.contaminated == set() and report.duplicates == set()


def test_overlap_within_one_dataset_is_ignored():
    # Two tasks of one dataset (two aspects of the same articles) share every text by design.
    index = OverlapIndex()
    text = article(6)
    index.add(ref("coherence_v1", "summeval", "1", eval_only=True), text)
    index.add(ref("fluency_v1", "summeval", "1", eval_only=True), text)
    index.add(ref("fluency_v1", "summeval", "2", eval_only=True), text.replace("river", "brook", 1))
    assert index.finish().pairs == []


def test_short_texts_are_exact_hashed_but_not_ngram_matched():
    index = OverlapIndex()
    short = "What is the capital city of France and why?"  # 9 words, >= 30 characters
    index.add(ref("train_v1", "alpha", "a1", field="prompt"), short)
    index.add(ref("bench_v1", "beta", "b1", True, field="prompt"), short)
    index.add(ref("train_v1", "alpha", "a2", field="prompt"), "Yes")  # under 30 characters: not indexed
    index.add(ref("bench_v1", "beta", "b2", True, field="prompt"), "Yes")
    report = index.finish()
    assert pair_kinds(report) == {("alpha/train_v1", "beta/bench_v1", "exact")}
    assert report.contaminated == {("train_v1", "a1")}
    assert report.stats["skipped_short"] == 2


def test_boilerplate_ngrams_are_capped():
    # Every response opens with the same 40-word disclaimer; the rest differs. Without the cap the
    # disclaimer alone makes every pair a "near duplicate"; with it, none is.
    disclaimer = article(7, 40)

    def build(cap: int) -> OverlapReport:
        index = OverlapIndex(max_texts_per_ngram=cap)
        for i in range(12):
            dataset = "alpha" if i % 2 else "beta"
            index.add(
                ref(f"{dataset}_v1", dataset, str(i), field="response"),
                disclaimer + " " + article(300 + i, 20),
            )
        return index.finish()

    assert build(cap=100).pairs  # the disclaimer alone matches
    capped = build(cap=5)
    assert capped.pairs == []
    assert capped.stats["boilerplate_ngrams"] > 0


def test_repeated_token_text_does_not_match_on_one_ngram():
    index = OverlapIndex()
    index.add(ref("a_v1", "alpha", "1"), "<unk> " * 60)
    index.add(ref("b_v1", "beta", "1", True), "A question about rivers " + "<unk> " * 40)
    assert index.finish().pairs == []


def test_contaminated_and_duplicates():
    shared_with_bench = article(8)
    factbench_copy = article(9)
    felm_copy = article(10)
    index = OverlapIndex()
    # Training vs held-out benchmark: the training row is contaminated, the benchmark keeps its row.
    index.add(ref("frank_v1", "frank", "f1"), shared_with_bench)
    index.add(ref("summac_xsum_v1", "summac_benchmark", "s1", eval_only=True), shared_with_bench)
    # Training vs training: one copy is kept. factcheck_bench redistributes HaluEval and FELM rows,
    # so its copy is the one dropped although it sorts first alphabetically.
    index.add(ref("factbench_v1", "factcheck_bench", "fb1", field="prompt"), factbench_copy)
    index.add(ref("halueval_v1", "halueval_general", "h1", field="user_query"), factbench_copy)
    index.add(ref("factbench_v1", "factcheck_bench", "fb2", field="prompt"), felm_copy)
    index.add(ref("felm_v1", "felm", "e1", field="prompt"), felm_copy.replace("river", "lake", 1))
    # Two training datasets with no preference: the alphabetically first keeps its copy.
    index.add(ref("zeta_v1", "zeta", "z1"), article(11))
    index.add(ref("eta_v1", "eta", "e1"), article(11))
    # Benchmark vs benchmark: reported, but nothing is removed.
    index.add(ref("summeval_v1", "summeval", "9", eval_only=True), article(12))
    index.add(ref("summac_summeval_v1", "summac_benchmark", "x9", eval_only=True), article(12))
    report = index.finish()
    assert report.contaminated == {("frank_v1", "f1")}
    assert report.duplicates == {("factbench_v1", "fb1"), ("factbench_v1", "fb2"), ("zeta_v1", "z1")}
    assert report.removed() == report.contaminated | report.duplicates
    assert ("summac_benchmark/summac_summeval_v1", "summeval/summeval_v1", "exact") in pair_kinds(report)


def test_a_shared_prompt_alone_is_contamination_but_not_a_duplicate():
    prompt, response = article(30, 40), article(31, 60)
    index = OverlapIndex()
    # Two training datasets judge different responses to one prompt: both rows are kept.
    index.add(ref("felm_v1", "felm", "e1", field="prompt"), prompt)
    index.add(ref("felm_v1", "felm", "e1", field="response"), article(32, 60))
    index.add(ref("tqa_v1", "truthfulqa", "t1", field="question"), prompt)
    index.add(ref("tqa_v1", "truthfulqa", "t1", field="answer"), article(33, 60))
    # A copy of a whole row (prompt and response) is a duplicate.
    index.add(ref("halu_v1", "halueval_general", "h1", field="user_query"), article(34, 40))
    index.add(ref("halu_v1", "halueval_general", "h1", field="chatgpt_response"), response)
    index.add(ref("fb_v1", "factcheck_bench", "f1", field="prompt"), article(34, 40))
    index.add(ref("fb_v1", "factcheck_bench", "f1", field="response"), response)
    # A held-out benchmark prompt in a training row contaminates it whatever the response.
    index.add(ref("bench_v1", "bench", "b1", eval_only=True, field="prompt"), prompt)
    # Short fields (not matched on their own) must match too: same prompt, different short answers.
    index.add(ref("tqa_v1", "truthfulqa", "t2", field="question"), article(35, 40))
    index.add(ref("tqa_v1", "truthfulqa", "t2", field="answer"), "Paris.")
    index.add(ref("felm_v1", "felm", "e2", field="prompt"), article(35, 40))
    index.add(ref("felm_v1", "felm", "e2", field="response"), "London.")
    index.add(ref("fb_v1", "factcheck_bench", "f2", field="prompt"), article(36, 40))
    index.add(ref("fb_v1", "factcheck_bench", "f2", field="response"), "Yes.")
    index.add(ref("halu_v1", "halueval_general", "h2", field="user_query"), article(36, 40))
    index.add(ref("halu_v1", "halueval_general", "h2", field="chatgpt_response"), "YES.")
    # ... in the same partner row: "No." there, "Yes." only in another row.
    index.add(ref("fb_v1", "factcheck_bench", "f3", field="prompt"), article(37, 40))
    index.add(ref("fb_v1", "factcheck_bench", "f3", field="response"), "Yes.")
    index.add(ref("halu_v1", "halueval_general", "h3", field="user_query"), article(37, 40))
    index.add(ref("halu_v1", "halueval_general", "h3", field="chatgpt_response"), "No.")
    report = index.finish()
    assert report.duplicates == {("fb_v1", "f1"), ("fb_v1", "f2")}
    assert report.contaminated == {("felm_v1", "e1"), ("tqa_v1", "t1")}


def test_preference_list_decides_the_kept_copy():
    index = OverlapIndex(prefer=("zeta",))
    index.add(ref("zeta_v1", "zeta", "z1"), article(13))
    index.add(ref("eta_v1", "eta", "e1"), article(13))
    assert index.finish().duplicates == {("eta_v1", "e1")}
    assert dataset_rank("felm") < dataset_rank("factcheck_bench")
    assert dataset_rank("zeta", prefer=("zeta",)) < dataset_rank("alpha")


def test_rows_are_counted_once_per_task_pair():
    # One article shared by 16 rows of a benchmark and 1 row of a training set.
    index = OverlapIndex()
    text = article(14)
    for i in range(16):
        index.add(ref("summeval_v1", "summeval", str(i), eval_only=True), text)
    index.add(ref("frank_v1", "frank", "f1"), text)
    (pair,) = index.finish().pairs
    assert (pair.a, pair.rows_a, pair.b, pair.rows_b) == ("frank/frank_v1", 1, "summeval/summeval_v1", 16)
    assert len(set(pair.examples)) == len(pair.examples) <= 3


def test_task_must_keep_its_dataset():
    index = OverlapIndex()
    index.add(ref("t_v1", "alpha", "1"), article(15))
    with pytest.raises(ValueError, match="t_v1"):
        index.add(ref("t_v1", "beta", "2"), article(16))


def test_json_round_trip_and_summary_rows():
    index = OverlapIndex()
    index.add(ref("frank_v1", "frank", "f1"), article(17))
    index.add(ref("bench_v1", "summac_benchmark", "s1", eval_only=True), article(17))
    index.add(ref("a_v1", "alpha", "1"), article(18))
    index.add(ref("b_v1", "beta", "1"), article(18))
    report = index.finish()
    again = OverlapReport.from_json(report.to_json())
    assert again == report
    rows = report.summary_rows()
    assert len(rows) == 2 and all(len(r) == len(SUMMARY_COLUMNS) for r in rows)
    assert all(isinstance(cell, str) for r in rows for cell in r)


def test_check_examples_indexes_every_input_field():
    def example(task: str, i: str, article_text: str, summary: str) -> Example:
        return Example(
            task=task,
            task_type=TaskType.CLASSIFICATION,
            title="t",
            description="d",
            inputs={"article": article_text, "summary": summary},
            targets={"answer": "Yes"},
            labels=("Yes", "No"),
            id=i,
        )

    train = SimpleNamespace(name="train_v1", dataset="alpha", eval_only=False)
    bench = SimpleNamespace(name="bench_v1", dataset="beta", eval_only=True)
    items = [
        (train, example("train_v1", "1", article(19), article(20, 30))),
        (train, example("train_v1", "2", article(21), article(22, 30))),
        (bench, example("bench_v1", "1", article(23), article(22, 30))),  # the summary is shared
    ]
    for progress in (False, True):
        report = check_examples(items, progress=progress)
        assert report.contaminated == {("train_v1", "2")}


def test_scales_to_many_documents():
    # 20k synthetic documents across 4 datasets, with 50 planted copies (25 exact, 25 edited).
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(5000)]
    index = OverlapIndex()
    planted_exact, planted_near = set(), set()
    for i in range(20_000):
        dataset = f"d{i % 4}"
        index.add(ref(f"{dataset}_v1", dataset, str(i)), " ".join(rng.choices(vocab, k=60)))
    for j in range(50):
        text = " ".join(rng.choices(vocab, k=80))
        index.add(ref("bench_v1", "bench", f"b{j}", eval_only=True), text)
        if j % 2:
            text = text.replace(text.split()[40], "EDIT", 1)
            planted_near.add(f"t{j}")
        else:
            planted_exact.add(f"t{j}")
        index.add(ref("train_v1", "train", f"t{j}"), text)
    report = index.finish()
    assert report.contaminated == {("train_v1", i) for i in planted_exact | planted_near}
    assert {p.kind for p in report.pairs} == {"exact", "ngram"}
    assert {(p.a, p.b) for p in report.pairs} == {("bench/bench_v1", "train/train_v1")}
