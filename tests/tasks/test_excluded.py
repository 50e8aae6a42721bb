"""flame.tasks.excluded: datasets left out on purpose are listed with a reason and registered as no task."""

from __future__ import annotations

from flame.data.task import load_all_tasks
from flame.tasks.excluded import EXCLUDED_DATASETS


def test_excluded_datasets_have_reasons_and_no_tasks():
    assert {"tofueval", "refchecker_human"} <= set(EXCLUDED_DATASETS)
    registered = {task.dataset for task in load_all_tasks().values()}
    for dataset, reason in EXCLUDED_DATASETS.items():
        assert isinstance(reason, str) and len(reason) > 40
        assert dataset not in registered
