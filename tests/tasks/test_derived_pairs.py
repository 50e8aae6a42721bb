"""The registered derived pair tasks and flame_mini_v3: sources, names, what they leave unchanged; and on the
shared data, the real pairs (splits of their source rows, balanced answers)."""

import json

import pytest

from flame.benchmarks import get_benchmark, suite_benchmarks
from flame.data.mixtures import resolve
from flame.data.paths import DataRootError, data_root
from flame.data.task import load_all_tasks

TASKS = load_all_tasks()
DERIVED = [t for t in TASKS.values() if t.derived_from]


def test_every_derived_task_comes_from_a_first_version_pointwise_training_task():
    assert len(DERIVED) == 31
    for t in DERIVED:
        source = TASKS.get(t.derived_from)
        assert (
            source.task_type == "pointwise" and not source.eval_only and source.name.endswith("_pointwise_v1")
        )
        assert t.name == source.name.replace("_pointwise_v1", "_derived_pairs_v1")
        assert t.task_type == "pairwise" and t.labels == ("A", "B") and not t.eval_only
        assert (t.dataset, t.capability, t.license) == (source.dataset, source.capability, source.license)
        assert t.split_fractions == source.split_fractions
        assert "Answer 'A' if Response A is better, 'B' if Response B is better." in t.description
        assert "Answer with an integer" not in t.description


def test_sources_leave_out_tasks_whose_pairs_exist_or_cannot_exist():
    sources = {t.derived_from for t in DERIVED}
    # CoNaLa's grades already have their pairs (codegen_conala_pairwise_v1); MLQE-PE has one translation per
    # sentence; SummEval is held out.
    assert not any(s.startswith(("codegen_human_grades_conala", "mlqe_pe_da", "summeval")) for s in sources)


def test_the_v1_and_mini_v2_mixtures_take_no_derived_task():
    derived = {t.name for t in DERIVED}
    for name in ("flame_v1", "flame_mini_v1", "flame_mini_v2"):
        assert not derived & set(resolve(name, lambda task: 500)), name


def test_flame_mini_v3_is_mini_v2_plus_one_draw_in_six_of_derived_pairs():
    sizes = {t.name: 100 + 10 * i for i, t in enumerate(TASKS.values())}
    sizes["wmt_mqm_ted_zh_en_quality_derived_pairs_v1"] = 4000  # over the cap
    v2, v3 = resolve("flame_mini_v2", sizes.get), resolve("flame_mini_v3", sizes.get)
    derived = {t: p for t, p in v3.items() if TASKS.get(t).derived_from}
    assert set(derived) == {t.name for t in DERIVED}
    assert sum(derived.values()) == pytest.approx(1 / 6)
    for t, p in v2.items():
        assert v3[t] == pytest.approx(p * 5 / 6)
    big = derived.pop("wmt_mqm_ted_zh_en_quality_derived_pairs_v1")
    small = min(derived, key=lambda t: sizes[t])
    assert big / derived[small] == pytest.approx(1024 / sizes[small])


def test_held_in_benchmarks_and_suites_leave_derived_tasks_out():
    derived = {t.name for t in DERIVED}
    for name in suite_benchmarks("heldin_v1"):
        assert not derived & set(get_benchmark(name).task_names()), name
    assert "hanna_pairwise_dev" not in suite_benchmarks("heldin_v1")


# ------------------------------------------------------------------------------ on the shared data


@pytest.fixture(scope="module")
def root():
    try:
        return data_root()
    except DataRootError as e:
        pytest.skip(str(e))


@pytest.mark.data
@pytest.mark.parametrize(
    "name",
    [
        "hanna_coherence_derived_pairs_v1",
        "topicalchat_usr_overall_derived_pairs_v1",
        "squality_human_eval_overall_derived_pairs_v1",
    ],
)
def test_real_pairs_keep_their_rows_split_and_prefer_the_higher_label(root, name):
    from flame.data.collection import build_task, load_task_dataset

    task = TASKS.get(name)
    source = TASKS.get(task.derived_from)
    build = build_task(task, root)
    src = load_task_dataset(source, root).select_columns(["id", "split", "targets"]).to_dict()
    split_of = dict(zip(src["id"], src["split"], strict=True))
    label_of = {i: json.loads(t)["answer"] for i, t in zip(src["id"], src["targets"], strict=True)}
    pairs = load_task_dataset(task, root).select_columns(["split", "targets", "metadata"]).to_dict()
    answers = []
    for split, targets, metadata in zip(pairs["split"], pairs["targets"], pairs["metadata"], strict=True):
        a, b = json.loads(metadata)["source_ids"]
        assert split_of[a] == split_of[b] == split
        answer = json.loads(targets)["answer"]
        preferred, other = (a, b) if answer == "A" else (b, a)
        assert int(label_of[preferred]) > int(label_of[other])
        answers.append(answer)
    assert build.rows["train"] > 200
    assert 0.4 < answers.count("A") / len(answers) < 0.6
