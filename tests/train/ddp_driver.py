"""Run the recipe on the toy tasks in each process of `accelerate launch` (used by test_distributed.py).

accelerate launch --config_file configs/accelerate/cpu_2proc.yaml tests/train/ddp_driver.py CONFIG.json
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_toys as toys  # noqa: E402

import flame.data.task as task_module  # noqa: E402
from flame.data.mixtures import MIXTURES  # noqa: E402
from flame.data.task import TASKS  # noqa: E402
from flame.train.config import RunConfig, from_dict  # noqa: E402
from flame.train.recipe import train  # noqa: E402


def main() -> None:
    task_module._LOADED = True  # only the toy tasks, as in the single-process tests
    for t in toys.toy_tasks():
        TASKS.add(t.name, t)
    for m in toys.toy_mixtures():
        MIXTURES.add(m.name, m)
    assert os.environ.get("FLAME_DATA_DIR")
    config = from_dict(RunConfig, json.loads(Path(sys.argv[1]).read_text()))
    train(config, progress=False)


if __name__ == "__main__":
    main()
