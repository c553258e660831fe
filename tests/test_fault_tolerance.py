"""Faults during a run: kill -9 then resume, truncated checkpoints, Ctrl-C."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semipose import api
from semipose.engine import checkpoint as ckpt
from semipose.models.checkpoint_files import load_checkpoint
from semipose.engine.run_log import read_log
from tests.conftest import synth_overrides

REPO = Path(__file__).resolve().parents[1]


def _overrides(synth_dir, run_dir):
    return synth_overrides(synth_dir, run_dir) + ["train.iterations=24", "train.lr_steps=[18]",
                                                  "train.checkpoint_every=3", "train.val_every=100",
                                                  "method.name=single"]


def _last_losses(run_dir):
    """Loss per step; a step logged twice (before a crash and after the resume) keeps the later line."""
    return {row["step"]: row["loss"] for row in read_log(run_dir / "log.jsonl", kind="train")}


def _train_command(run_dir_overrides):
    return [sys.executable, "-m", "semipose", "train", str(REPO / "configs" / "cpu" / "synth_demo.yaml"),
            *run_dir_overrides]


def test_kill_9_mid_run_then_resume_reproduces_the_loss_curve(synth_dir, tmp_path):
    straight = tmp_path / "straight"
    api.train(api.load_config(str(REPO / "configs/cpu/synth_demo.yaml"), _overrides(synth_dir, straight)))

    killed = tmp_path / "killed"
    process = subprocess.Popen(_train_command(_overrides(synth_dir, killed)), cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoint_00000009.pt").exists():  # a few checkpoints in, mid-epoch
        assert process.poll() is None and time.time() < deadline, "the training process ended early"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    survivor = ckpt.find_resume_checkpoint(killed)
    assert survivor is not None and survivor[1]["iteration"] < 24

    resumed = subprocess.run(_train_command(_overrides(synth_dir, killed)), cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed from" in resumed.stderr
    reference, after = _last_losses(straight), _last_losses(killed)
    start = survivor[1]["iteration"] + 1
    assert [after[s] for s in range(start, 25)] == [reference[s] for s in range(start, 25)]


def test_resume_skips_a_truncated_newest_checkpoint(synth_dir, tmp_path, caplog):
    run_dir = tmp_path / "run"
    config = api.load_config(str(REPO / "configs/cpu/synth_demo.yaml"), _overrides(synth_dir, run_dir)
                             + ["train.iterations=9"])
    api.train(config)
    for name in ("last.pt", "checkpoint_00000009.pt", "best.pt"):
        path = run_dir / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    found = ckpt.find_resume_checkpoint(run_dir)
    assert found is not None and found[1]["iteration"] == 6
    assert "checkpoint_00000009.pt" in caplog.text


@pytest.mark.slow  # once exited with code 1 instead of 130 under heavy machine load: cause under study
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(synth_dir, tmp_path):
    run_dir = tmp_path / "run"
    overrides = _overrides(synth_dir, run_dir) + ["train.iterations=100000", "train.checkpoint_every=100000"]
    process = subprocess.Popen(_train_command(overrides), cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run_dir / "log.jsonl").exists() or len(read_log(run_dir / "log.jsonl")) < 3:
        assert process.poll() is None and time.time() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert load_checkpoint(run_dir / "last.pt")["iteration"] >= 3
