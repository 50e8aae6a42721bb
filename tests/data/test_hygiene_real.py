"""On the real collection: the decontamination pass finds the known overlaps and training excludes them."""

import pytest

from flame.data.paths import DataRootError, data_root

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def report():
    try:
        data_root()
    except DataRootError as e:
        pytest.skip(str(e))
    from flame.data.hygiene import overlap_report

    return overlap_report(progress=False)


def _pairs(report, prefix_a: str, prefix_b: str):
    """Reported pairs whose one task starts with prefix_a and the other with prefix_b."""

    def task(label: str) -> str:
        return label.split("/")[-1]

    return [
        p
        for p in report.pairs
        if (task(p.a).startswith(prefix_a) and task(p.b).startswith(prefix_b))
        or (task(p.b).startswith(prefix_a) and task(p.a).startswith(prefix_b))
    ]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("summac_benchmark_summeval", "summeval_"),
        ("summac_benchmark_xsumfaith", "xsumfaith_"),
        ("factcheck_bench_response", "halueval_general"),
        ("factcheck_bench_response", "felm_wk"),
        ("frank_consistency", "summac_benchmark_xsumfaith"),
        ("frank_consistency", "summeval_"),
    ],
)
def test_known_overlaps_are_found(report, a, b):
    assert _pairs(report, a, b), f"no overlap reported between {a}* and {b}*"


def test_frank_shares_documents_with_summac_xsumfaith(report):
    rows = max(
        p.rows_a if "frank" in p.a else p.rows_b
        for p in _pairs(report, "frank_consistency", "summac_benchmark_xsumfaith")
    )
    # 74 of FRANK's 149 documents are XSum articles (4 claims each); 70 of them are SummaC XSumFaith documents.
    assert rows >= 250


def test_training_keeps_one_copy_of_duplicates_and_no_held_out_overlap(report):
    from flame.data.hygiene import training_exclusions

    removed = training_exclusions(report)
    # Factbench's HaluEval and FELM copies are dropped, the originals kept.
    assert len(removed["factcheck_bench_response_factuality_classification_v1"]) >= 4507 + 180
    assert (
        "halueval_general_hallucination_classification_v1" not in removed
        or len(removed["halueval_general_hallucination_classification_v1"]) < 10
    )
    # Every FRANK row that shares a document with a held-out benchmark is out of training.
    assert len(removed["frank_consistency_classification_v1"]) >= 280
    contaminated_tasks = {task for task, _ in report.contaminated}
    from flame.data.task import load_all_tasks

    tasks = load_all_tasks()
    assert all(not tasks.get(t).eval_only for t in contaminated_tasks)


def test_export_of_flame_v1_train_has_no_held_out_rows(tmp_path, report):
    from flame.data.collection import load_task_dataset
    from flame.data.export import split_indices
    from flame.data.hygiene import training_exclusions
    from flame.data.task import load_all_tasks

    tasks = load_all_tasks()
    removed = training_exclusions(report)
    indices = split_indices("train", progress=False)
    assert all(not indices[t.name] for t in tasks.values() if t.eval_only)
    frank = tasks.get("frank_consistency_classification_v1")
    ids = load_task_dataset(frank)["id"]
    assert not {ids[i] for i in indices[frank.name]} & removed[frank.name]
