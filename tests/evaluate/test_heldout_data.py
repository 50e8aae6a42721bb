"""The held-out suite on the shared data with the baselines (a few examples per task)."""

from __future__ import annotations

import pytest

from flame.evaluate.harness import evaluate


@pytest.mark.data
@pytest.mark.slow
def test_heldout_v1_with_baselines(tmp_path):
    from flame.data.paths import DataRootError, data_root

    try:
        data_root()
    except DataRootError as e:
        pytest.skip(str(e))
    res = evaluate(
        [], ["heldout_v1"], limit=8, n_resamples=20, out=tmp_path / "run", cache=tmp_path / "c.sqlite"
    )
    for name in (
        "mtbench_human",
        "pandalm",
        "llmeval2",
        "faireval",
        "summac",
        "wice",
        "summeval",
        "pairwise mean",
        "factual-consistency mean",
    ):
        assert res.get("length", name) is not None or res.get("length", name, "accuracy") is not None, name
    assert (tmp_path / "run" / "report.html").exists()
