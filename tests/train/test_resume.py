"""--resume of runs that got far: an encoder judge killed during or after its label-bias fit, a finished
run, and a run asked to go back to fewer steps than it has trained (issue 14)."""

from __future__ import annotations

import json

import pytest
import train_toys as toys

from flame.train.config import ConfigError, RunConfig, dump_yaml, from_dict


def _judge_config(base, run_dir, steps=4, calibrate=8) -> RunConfig:
    return from_dict(
        RunConfig,
        {
            "run_dir": str(run_dir),
            "model": {"base": str(base), "dtype": "fp32", "dropout": 0.0},
            "data": {"mixture": toys.TOY_MIXTURE, "max_length": 64, "decontaminate": False},
            "optim": {"lr": 3e-3, "warmup_steps": 0},
            "train": {
                "steps": steps,
                "batch_size": 4,
                "micro_batch_size": 4,
                "save_every": 2,
                "progress": False,
            },
            "eval": {"every": 2, "held_in": [toys.CLASSIFICATION], "n": 4, "calibrate": calibrate},
        },
    )


def _metrics(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def _kinds(run):
    """(step, what) per metrics line."""
    return [(m["step"], next(k for k in ("loss", "eval", "calibration") if k in m)) for m in _metrics(run)]


class Killed(BaseException):
    pass


@pytest.mark.slow
def test_resume_after_calibration(toy_registry, tiny_encoder, tmp_path, monkeypatch):
    import flame.train.recipe as recipe
    from flame.raters import load_rater

    run = tmp_path / "run"
    real_save = recipe.save_hf_folder

    def killed(*args, **kwargs):
        raise Killed  # Ctrl-C after the label biases were fitted, before final/ was written

    monkeypatch.setattr(recipe, "save_hf_folder", killed)
    with pytest.raises(Killed):
        recipe.train(_judge_config(tiny_encoder, run))
    assert not (run / "final").exists() and (run / "checkpoints" / "step-4").is_dir()
    assert _kinds(run)[-2:] == [(4, "eval"), (4, "calibration")]  # the fit carries its step

    # Resumed (what `make demo` runs after Ctrl-C): the final evaluation and fit are done once more, not twice.
    monkeypatch.setattr(recipe, "save_hf_folder", real_save)
    result = recipe.train(_judge_config(tiny_encoder, run), resume=True)
    assert result.step == 4 and (run / "final" / "flame_encoder.json").is_file()
    assert _kinds(run) == [(1, "loss"), (2, "loss"), (2, "eval"), (3, "loss"), (4, "loss")] + [
        (4, "eval"),
        (4, "calibration"),
    ]
    info = json.loads((run / "run.json").read_text())
    assert info["finished"] and info["steps"] == 4
    assert load_rater(f"run:{run}").model.calibration  # the saved judge has its biases

    # Resumed once it is finished: nothing to do, nothing touched (flame demo reads it as done, too).
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    final_mtime = (run / "final" / "flame_encoder.json").stat().st_mtime_ns
    again = recipe.train(_judge_config(tiny_encoder, run), resume=True)
    assert again.step == 4 and again.final_dir == run / "final"
    assert [m["step"] for m in again.metrics if "loss" in m] == [1, 2, 3, 4]
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert (run / "final" / "flame_encoder.json").stat().st_mtime_ns == final_mtime

    # Resumed with more steps: training goes on from step 4, and the judge is fitted and saved again.
    more = recipe.train(_judge_config(tiny_encoder, run, steps=6), resume=True)
    assert more.step == 6
    kinds = _kinds(run)
    assert [s for s, k in kinds if k == "loss"] == [1, 2, 3, 4, 5, 6]
    assert [s for s, k in kinds if k == "eval"] == [2, 4, 6]
    assert [s for s, k in kinds if k == "calibration"] == [4, 6]  # the fit of each saved judge
    info = json.loads((run / "run.json").read_text())
    assert info["finished"] and info["steps"] == 6 and info["target_steps"] == 6

    # final/ deleted after all (or never written): resuming writes it again from the last checkpoint.
    import shutil

    shutil.rmtree(run / "final")
    recipe.train(_judge_config(tiny_encoder, run, steps=6), resume=True)
    assert (run / "final" / "flame_encoder.json").is_file()
    assert [s for s, k in _kinds(run) if k != "loss"] == [2, 4, 4, 6, 6]


def test_resume_after_calibration_reads_metrics_written_before_the_fit_carried_its_step(tmp_path):
    """Run directories of earlier versions: a calibration line without a step, a line cut short by a kill."""
    from flame.train.recipe import _truncate_metrics

    path = tmp_path / "metrics.jsonl"
    lines = [{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.9}, {"step": 2, "eval": {}}, {"calibration": []}]
    text = "".join(json.dumps(x) + "\n" for x in lines)
    path.write_text(text + '{"step": 3, "lo')
    _truncate_metrics(path, 2)  # resumed with more steps: the fit at step 2 stays in the history
    assert path.read_text() == text
    _truncate_metrics(path, 2, redo_final=True)  # killed before final/: the evaluation and the fit are redone
    assert [json.loads(x) for x in path.read_text().splitlines()] == lines[:2]
    _truncate_metrics(path, 0)
    assert path.read_text() == ""


def test_resume_with_fewer_steps_than_the_run_has(toy_registry, tiny_encoder, tmp_path, capsys):
    from flame.cli import main
    from flame.train.recipe import train

    run = tmp_path / "run"
    train(_judge_config(tiny_encoder, run, calibrate=0))
    files = ("config.yaml", "run.json", "metrics.jsonl", "data.json")
    before = {name: (run / name).read_bytes() for name in files}
    listing = sorted(p.relative_to(run) for p in run.rglob("*"))
    with pytest.raises(ConfigError, match=r"the run is at step 4 .*resume with train.steps >= 4"):
        train(_judge_config(tiny_encoder, run, steps=2, calibrate=0), resume=True)
    # `flame train`: one line, exit 2.
    config = tmp_path / "again.yaml"
    config.write_text(dump_yaml(_judge_config(tiny_encoder, run, steps=2, calibrate=0)))
    capsys.readouterr()
    assert main(["train", str(config), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("flame: error: ") and "run is at step 4" in err and "\n" not in err
    assert {name: (run / name).read_bytes() for name in files} == before
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == listing
