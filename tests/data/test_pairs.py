"""Pairs from pointwise ratings (``flame.data.pairs``), on literal rows and a toy task built end to end."""

import json

import pytest

from flame.data.collection import build_task, load_task_dataset
from flame.data.decontam import OverlapReport
from flame.data.hygiene import training_exclusions, training_indices
from flame.data.pairs import (
    RatedRow,
    derive_pairs,
    derived_exclusions,
    derived_stats,
    max_pairs,
    source_pairs,
)
from flame.data.sources import LocalFiles
from flame.data.task import TASKS, Row, Task, register_task, require_text
from flame.tasks.derived_pairs import derived_task, guideline
from flame.types import TaskType, score_labels

SCALE = score_labels(1, 5)


def row(i, prompt, response, answer, split="train", group=None):
    return RatedRow(
        id=f"r{i}",
        split=split,
        group=group or f"g-{prompt}",
        inputs={"prompt": prompt, "response": response},
        answer=str(answer),
    )


def by_texts(pairs):
    """{(preferred response, other response): answer} of derived pairs."""
    out = {}
    for p in pairs:
        a, b = p.inputs["response A"], p.inputs["response B"]
        out[(a, b) if p.answer == "A" else (b, a)] = p.answer
    return out


def test_pairs_group_by_prompt_and_prefer_the_higher_label():
    rows = [row(0, "p1", "good", 5), row(1, "p1", "bad", 2), row(2, "p2", "fine", 4), row(3, "p2", "poor", 1)]
    rows.append(row(4, "p3", "alone", 3))  # one response: no pair
    pairs, stats = derive_pairs(rows, SCALE)
    assert set(by_texts(pairs)) == {("good", "bad"), ("fine", "poor")}
    for p in pairs:
        preferred = p.inputs[f"response {p.answer}"]
        assert preferred in ("good", "fine")
        assert p.inputs["prompt"] in ("p1", "p2")
        assert list(p.inputs) == ["prompt", "response A", "response B"]
        assert p.metadata["margin"] == 3
    assert stats.by_split("prompts") == {"train": 2, "dev": 0, "test": 0}
    assert stats.total("pairs") == 2


def test_the_prompt_is_every_field_but_the_last_compared_after_normalising():
    rows = [
        RatedRow("a", "train", "g", {"story": "S", "question": "Q1", "response": "x"}, "4"),
        RatedRow("b", "train", "g", {"story": "S", "question": "q1 ", "response": "y"}, "2"),
        RatedRow("c", "train", "g", {"story": "S", "question": "Q2", "response": "z"}, "1"),
    ]
    pairs, _ = derive_pairs(rows, SCALE)
    assert len(pairs) == 1
    assert {pairs[0].inputs["story"], pairs[0].inputs["question"]} == {"S", "Q1"}
    assert list(pairs[0].inputs) == ["story", "question", "response A", "response B"]


def test_equal_labels_are_ties_skipped_and_counted():
    rows = [row(0, "p", "x", 3), row(1, "p", "y", 3), row(2, "p", "z", 4)]
    pairs, stats = derive_pairs(rows, SCALE)
    assert set(by_texts(pairs)) == {("z", "x"), ("z", "y")}
    assert stats.total("ties") == 1


def test_identical_responses_collapse_and_conflicting_copies_are_dropped():
    rows = [row(0, "p", "same", 4), row(1, "p", "Same ", 4), row(2, "p", "other", 2)]
    rows += [row(3, "q", "twice", 5), row(4, "q", "twice", 1), row(5, "q", "once", 3)]
    pairs, stats = derive_pairs(rows, SCALE)
    assert set(by_texts(pairs)) == {("same", "other")}
    assert stats.total("identical") == 1 and stats.total("conflicting") == 2


def test_pairs_never_cross_splits_or_groups():
    rows = [row(0, "p", "x", 5, "train"), row(1, "p", "y", 1, "dev"), row(2, "p", "z", 3, "dev")]
    rows += [row(3, "p", "w", 1, "train", group="another document")]
    pairs, stats = derive_pairs(rows, SCALE)
    assert len(pairs) == 1
    assert pairs[0].split == "dev" and sorted(pairs[0].metadata["source_ids"]) == ["r1", "r2"]
    assert stats.by_split("prompts") == {"train": 0, "dev": 1, "test": 0}


@pytest.mark.parametrize(("n", "kept"), [(2, 1), (3, 3), (4, 6), (5, 6), (11, 11)])
def test_the_per_prompt_cap(n, kept):
    assert max_pairs(n) == kept


def test_a_large_prompt_is_capped_by_a_seeded_sample_the_same_every_time():
    rows = [row(i, "p", f"story {i}", 1 + i % 5) for i in range(11)]
    pairs, stats = derive_pairs(rows, SCALE)
    assert len(pairs) == 11
    ordered = 55 - stats.total("ties")
    assert stats.total("capped") == ordered - 11
    assert [p.id for p in pairs] == [p.id for p in derive_pairs(rows, SCALE)[0]]
    # Other prompts before it do not move its sample: the seed is its own text.
    others = [row(100 + i, "q", f"o {i}", 1 + i % 2) for i in range(2)]
    mixed, _ = derive_pairs(others + rows, SCALE)
    assert [p.id for p in mixed if p.inputs["prompt"] == "p"] == [p.id for p in pairs]


def test_derivation_is_deterministic_and_answers_are_balanced():
    rows = [row(2 * i + k, f"prompt {i}", f"response {i}.{k}", 5 - 3 * k) for i in range(600) for k in (0, 1)]
    pairs, _ = derive_pairs(rows, SCALE)
    assert [(p.id, p.answer, p.inputs) for p in pairs] == [
        (p.id, p.answer, p.inputs) for p in derive_pairs(rows, SCALE)[0]
    ]
    share_a = sum(p.answer == "A" for p in pairs) / len(pairs)
    assert 0.45 < share_a < 0.55
    # The preferred response is always the source's first row here, whatever its position.
    assert all(p.inputs[f"response {p.answer}"].endswith(".0") for p in pairs)


def test_a_label_off_the_scale_is_an_error():
    with pytest.raises(ValueError, match="not on the scale"):
        derive_pairs([row(0, "p", "x", 9), row(1, "p", "y", 1)], SCALE)


def test_guideline_drops_the_intro_and_the_scale_sentence():
    text = (
        "In this task, you will be shown a prompt and a story. Rate the story's coherence: does it make "
        "sense? Answer with an integer from 1 (worst) to 5 (best)."
    )
    assert guideline(text) == "Rate the story's coherence: does it make sense?"
    with pytest.raises(ValueError):
        guideline("Rate it.")


# ------------------------------------------------------------------------------ a toy task, built


def toy_row(record: dict) -> Row:
    return Row(
        {"prompt": require_text(record, "prompt"), "response": require_text(record, "response")},
        str(record["score"]),
        metadata={"score": record["score"]},
    )


def toy_pointwise(eval_only: bool = False) -> Task:
    return Task(
        name="toy_quality_pointwise_v1" if not eval_only else "toy_heldout_quality_pointwise_v1",
        dataset="toy",
        task_type=TaskType.POINTWISE,
        capability="general_quality",
        license="MIT",
        title="How good is the response?",
        description="In this task, you will be shown a prompt and a response. Rate the response's quality. "
        "Answer with an integer from 1 (worst) to 5 (best).",
        source=LocalFiles("toy/rows.jsonl"),
        to_row=toy_row,
        labels=SCALE,
        eval_only=eval_only,
    )


@pytest.fixture
def toy(tmp_path, monkeypatch):
    lines = [
        {"prompt": f"prompt number {i}", "response": f"response {i}.{k}", "score": 1 + (i + k) % 5}
        for i in range(80)
        for k in range(3)
    ]
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "rows.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    monkeypatch.setenv("FLAME_DATA_DIR", str(tmp_path))
    with TASKS.isolated():
        source = register_task(toy_pointwise())
        derived = register_task(
            derived_task(source, "a prompt", "response", "responses", "Which response is better in {aspect}?")
        )
        yield source, derived, tmp_path


def test_a_derived_task_is_pairwise_with_its_sources_split_fractions(toy):
    source, derived, _ = toy
    assert derived.name == "toy_quality_derived_pairs_v1"
    assert derived.task_type == TaskType.PAIRWISE and derived.labels == ("A", "B")
    assert derived.derived_from == source.name and not derived.eval_only
    assert derived.split_fractions == source.split_fractions
    assert derived.title == "Which response is better in quality?"
    assert "Rate the response's quality." in derived.description
    assert "Answer 'A' if Response A is better" in derived.description


def test_built_pairs_keep_the_split_of_both_their_rows(toy):
    source, derived, root = toy
    build = build_task(derived, root)
    src = load_task_dataset(source, root).select_columns(["id", "split"]).to_dict()
    split_of = dict(zip(src["id"], src["split"], strict=True))
    pairs = load_task_dataset(derived, root).to_dict()
    assert build.total == len(pairs["id"]) == 80 * 3  # three responses, three distinct labels: all 3 pairs
    assert set(pairs["split"]) == {"train", "dev", "test"}
    for pid, split, metadata in zip(pairs["id"], pairs["split"], pairs["metadata"], strict=True):
        a, b = json.loads(metadata)["source_ids"]
        assert pid == f"{a}&{b}"
        assert split_of[a] == split_of[b] == split
    stats = derived_stats(derived, root)
    assert stats["source"] == source.name
    assert stats["pairs"] == build.rows
    assert sum(stats["prompts"].values()) == 80


def test_eval_only_tasks_never_give_pairs(toy):
    held_out = toy_pointwise(eval_only=True)
    with pytest.raises(ValueError, match="evaluation-only"):
        derived_task(held_out, "a prompt", "response", "responses", "{aspect}")
    with pytest.raises(ValueError, match="evaluation-only"):
        source_pairs(held_out)


def test_a_pair_is_decontaminated_exactly_when_one_of_its_rows_is(toy):
    source, derived, root = toy
    build_task(derived, root)
    src_ids = load_task_dataset(source, root)["id"]
    removed = {src_ids[0], src_ids[4]}
    gone = derived_exclusions(derived, removed)
    pairs = load_task_dataset(derived, root).to_dict()
    expected = {
        pid
        for pid, m in zip(pairs["id"], pairs["metadata"], strict=True)
        if removed & set(json.loads(m)["source_ids"])
    }
    assert gone == expected and gone
    report = OverlapReport(contaminated={(source.name, src_ids[0])}, duplicates={(source.name, src_ids[4])})
    exclusions = training_exclusions(report)
    assert exclusions[source.name] == removed
    assert exclusions[derived.name] == gone
    kept = training_indices(derived, exclusions)
    ids, splits = pairs["id"], pairs["split"]
    assert {ids[i] for i in kept} == {i for i, s in zip(ids, splits, strict=True) if s == "train"} - gone


def test_stats_print_the_derived_counts(toy, capsys):
    from flame.cli import _print_derived

    _source, derived, root = toy
    build = build_task(derived, root)
    _print_derived([derived])
    out = capsys.readouterr().out
    assert "toy_quality_derived_pairs_v1" in out and "toy_quality_pointwise_v1" in out
    train, dev, test = (build.rows[s] for s in ("train", "dev", "test"))
    assert f"{train}/{dev}/{test}" in out
    assert f"1 derived tasks, {train} training pairs" in out
