"""The engine end to end on a tiny synthetic set: outputs, checkpoints, exact resume."""
import json

import pytest
import torch

from semipose import api
from semipose.models.checkpoint_files import load_checkpoint
from semipose.engine.run_log import read_log
from semipose.engine.trainer import Trainer
from tests.conftest import synth_overrides


def _losses(run_dir):
    return {row["step"]: row["loss"] for row in read_log(run_dir / "log.jsonl", kind="train")}


def test_supervised_run_writes_its_outputs(synth_dir, tmp_path):
    run_dir = tmp_path / "run"
    summary = api.train(api.load_config(None, synth_overrides(synth_dir, run_dir)))
    for name in ("config.yaml", "log.jsonl", "metrics.json", "last.pt", "best.pt", "training_curves.png",
                 "predictions.png"):
        assert (run_dir / name).exists(), name
    assert summary["iteration"] == 8
    assert 0.0 <= summary["final"]["main/AP"] <= 1.0
    payload = torch.load(run_dir / "last.pt", map_location="cpu", weights_only=True)
    assert payload["iteration"] == 8 and payload["keypoints"]["names"][0] == "nose"
    assert set(_losses(run_dir)) == set(range(1, 9))
    assert json.loads((run_dir / "metrics.json").read_text())["iteration"] == 8


def test_learning_rate_follows_the_step_schedule(synth_dir, tmp_path):
    run_dir = tmp_path / "run"
    api.train(api.load_config(None, synth_overrides(synth_dir, run_dir) + ["train.lr=0.01"]))
    lrs = {row["step"]: row["lr"] for row in read_log(run_dir / "log.jsonl", kind="train")}
    # The lr logged at step s is the one the next step uses: drop after 6 steps.
    assert lrs[5] == pytest.approx(0.01) and lrs[6] == pytest.approx(0.001)


@pytest.mark.parametrize("method", ["supervised", "single"])
def test_interrupted_run_resumes_onto_the_same_loss_curve(synth_dir, tmp_path, monkeypatch, method):
    overrides = [f"method.name={method}"] + (["method.hard.joint_cutout.num_joints=2"] if method == "single" else [])
    straight = tmp_path / "straight"
    api.train(api.load_config(None, synth_overrides(synth_dir, straight) + overrides))

    interrupted = tmp_path / "interrupted"
    config = api.load_config(None, synth_overrides(synth_dir, interrupted) + overrides)
    trainer = Trainer(config)
    original_step = trainer._step

    def step_then_stop(labelled, unlabelled):
        if trainer.iteration == 5:
            raise KeyboardInterrupt
        return original_step(labelled, unlabelled)

    monkeypatch.setattr(trainer, "_step", step_then_stop)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert load_checkpoint(interrupted / "last.pt")["iteration"] == 5
    Trainer(config).fit()   # auto_resume picks up last.pt
    resumed, reference = _losses(interrupted), _losses(straight)
    assert [resumed[s] for s in range(6, 9)] == [reference[s] for s in range(6, 9)]


def test_non_finite_loss_stops_with_the_iteration_named(synth_dir, tmp_path, monkeypatch):
    from semipose.engine.trainer import TrainingDiverged
    config = api.load_config(None, synth_overrides(synth_dir, tmp_path / "run"))
    trainer = Trainer(config)
    method_step = trainer.run.method.training_step

    def poisoned(labelled, unlabelled, step):
        output = method_step(labelled, unlabelled, step)
        if step == 3:
            output.loss = output.loss * float("nan")
        return output

    monkeypatch.setattr(trainer.run.method, "training_step", poisoned)
    with pytest.raises(TrainingDiverged, match="iteration 3"):
        trainer.fit()
    assert load_checkpoint(tmp_path / "run" / "last.pt")["iteration"] == 2
