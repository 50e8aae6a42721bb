"""The `flame` command through its entry point: listing, showing, errors, and a fast start without torch."""

import json
import subprocess
import sys

import pytest

from flame import __version__
from flame.cli import main
from flame.data.paths import DataRootError, data_root


def _has_data() -> bool:
    try:
        data_root()
        return True
    except DataRootError:
        return False


needs_data = pytest.mark.skipif(
    not _has_data(), reason="no data root (set FLAME_DATA_DIR or put ../shared/data beside)"
)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"flame {__version__}"


def test_console_script_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "flame.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"flame {__version__}"


def test_missing_data_root_is_one_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("FLAME_DATA_DIR", str(tmp_path / "nowhere"))
    assert main(["tasks", "show", "summeval_coherence_pointwise_v1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flame: error: FLAME_DATA_DIR=") and "nowhere" in err and "Traceback" not in err


def test_unknown_task_suggests_close_names(capsys):
    assert main(["tasks", "show", "summeval_coherense_pointwise_v1"]) == 2
    assert "did you mean summeval_coherence_pointwise_v1" in capsys.readouterr().err


@pytest.mark.data
@needs_data
def test_tasks_list_json_covers_the_collection(capsys):
    assert main(["tasks", "list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {"name", "dataset", "type", "capability", "license", "eval_only", "rows"} <= set(records[0])
    assert len(records) >= 60
    assert len({r["dataset"] for r in records}) >= 30
    assert {r["type"] for r in records} == {"pairwise", "pointwise", "classification", "generative"}
    assert all(set(r["rows"]) == {"train", "dev", "test"} for r in records)
    assert all(sum(r["rows"].values()) > 0 for r in records), [
        r["name"] for r in records if not sum(r["rows"].values())
    ]


@pytest.mark.data
@needs_data
def test_tasks_show_prints_the_three_blocks(capsys):
    assert main(["tasks", "show", "summeval_coherence_pointwise_v1", "--n", "1"]) == 0
    out = capsys.readouterr().out
    body = out.split("\n", 1)[1]
    assert body.startswith("INSTRUCTIONS:\ntitle: ")
    assert "\ndescription: " in body and "\noutput_fields: answer\n\nCONTEXT:\narticle: " in body
    assert "\nsummary: " in body and "\n\nEVALUATION:\nanswer: " in body


@needs_data
def test_listing_tasks_does_not_import_torch():
    code = (
        "import sys; from flame.data.task import load_all_tasks; load_all_tasks(); "
        "import flame.cli; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
