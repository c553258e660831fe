"""JSON-lines run log, TensorBoard mirror, progress bar and plain progress lines."""

from __future__ import annotations

import io
import json
import logging
import math
import sys

import numpy as np
import pytest
import torch

from semipose.engine import run_log
from semipose.engine.run_log import (
    ProgressBar,
    RunLogError,
    RunLogger,
    estimate_eta,
    format_duration,
    print_line,
    read_log,
)


def test_each_log_call_appends_one_flushed_json_line(tmp_path):
    logger = RunLogger(tmp_path, use_tensorboard=False)
    logger.log(10, {"loss": torch.tensor(0.25), "lr": 1e-3, "images": 32, "ap": np.float32(0.5)})
    # readable before close: every line is flushed as it is written
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    assert record["kind"] == "train" and record["step"] == 10
    assert record["loss"] == 0.25 and record["lr"] == 1e-3 and record["images"] == 32.0 and record["ap"] == 0.5
    assert isinstance(record["time"], float)
    logger.log(20, {"AP": 0.61}, kind="val")
    logger.close()
    assert [r["step"] for r in read_log(tmp_path / "log.jsonl")] == [10, 20]
    assert [r["AP"] for r in read_log(tmp_path / "log.jsonl", kind="val")] == [0.61]


def test_non_finite_values_become_null_and_set_the_flag(tmp_path):
    with RunLogger(tmp_path, use_tensorboard=False) as logger:
        logger.log(1, {"loss": 1.0})
        assert not logger.saw_non_finite
        logger.log(2, {"loss": float("nan"), "grad_norm": torch.tensor(float("inf")), "lr": 0.1})
        assert logger.saw_non_finite
    text = (tmp_path / "log.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    record = read_log(tmp_path / "log.jsonl")[1]
    assert record["loss"] is None and record["grad_norm"] is None and record["lr"] == 0.1
    assert record["non_finite"] == ["loss", "grad_norm"]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"heatmaps": torch.zeros(2, 2)}, r"'heatmaps' is a tensor of shape \(2, 2\)"),
        ({"note": "hello"}, r"'note' must be a number or a one-element tensor, got str"),
        ({"step": 3}, r"'step' is reserved"),
    ],
)
def test_bad_values_are_rejected(tmp_path, values, message):
    with RunLogger(tmp_path, use_tensorboard=False) as logger, pytest.raises(RunLogError, match=message):
        logger.log(0, values)


def test_disabled_logger_writes_nothing(tmp_path):
    logger = RunLogger(tmp_path / "rank1", enabled=False)
    logger.log(0, {"loss": 1.0})
    logger.close()
    assert not (tmp_path / "rank1").exists()


def test_tensorboard_events_mirror_the_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with RunLogger(tmp_path) as logger:
        logger.log(1, {"loss": 0.5})
        logger.log(2, {"loss": 0.25, "lr": float("nan")})
        logger.log(2, {"AP": 0.7}, kind="val")
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["train/loss", "val/AP"]  # the NaN lr is skipped
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(1, 0.5), (2, 0.25)]
    assert [e.value for e in events.Scalars("val/AP")] == [pytest.approx(0.7)]


def test_missing_tensorboard_is_noted_once_and_logging_continues(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    monkeypatch.setattr(run_log, "_warned_missing_tensorboard", False)
    with caplog.at_level(logging.WARNING, logger="semipose.engine.run_log"):
        for name in ("a", "b"):
            with RunLogger(tmp_path / name) as logger:
                logger.log(0, {"loss": 1.0})
    assert sum("tensorboard is not installed" in r.getMessage() for r in caplog.records) == 1
    assert read_log(tmp_path / "b" / "log.jsonl")[0]["loss"] == 1.0
    assert not (tmp_path / "a" / "tensorboard").exists()


def test_read_log_ignores_a_cut_off_last_line_but_not_a_bad_middle_line(tmp_path):
    path = tmp_path / "log.jsonl"
    good = '{"kind": "train", "step": 1, "loss": 0.5}\n'
    path.write_text(good + '{"kind": "train", "st')
    assert read_log(path) == [{"kind": "train", "step": 1, "loss": 0.5}]
    path.write_text(good + "oops\n" + good)
    with pytest.raises(RunLogError, match=r"log\.jsonl:2: not a JSON record"):
        read_log(path)
    path.write_text('{"loss": 1}\n')
    with pytest.raises(RunLogError, match=r"log\.jsonl:1: a record needs 'kind' and 'step'"):
        read_log(path)
    with pytest.raises(RunLogError, match="log file not found"):
        read_log(tmp_path / "absent.jsonl")


def test_progress_bar_shows_rate_eta_and_loss_when_forced(capsys):
    with ProgressBar(total=10, desc="train", enabled=True, initial=2) as bar:
        bar.update(1, loss=None)
        bar.update(1, loss=torch.tensor(0.0012345))
        bar._bar.refresh()
    shown = capsys.readouterr().err
    assert "train" in shown and "4/10" in shown and "it/s" in shown and "loss=0.001234" in shown
    assert "<" in shown  # tqdm's "elapsed<remaining" ETA
    with ProgressBar(total=10, enabled=True) as bar:
        bar.set_postfix({"loss": 2.5, "method": "dual"})
        bar._bar.refresh()
    assert "loss=2.5, method=dual" in capsys.readouterr().err


def test_progress_bar_is_silent_when_disabled(capsys):
    with ProgressBar(total=10, desc="epoch 1", enabled=False) as bar:
        bar.update(3)
        bar.set_postfix({"loss": 1.0})
    assert capsys.readouterr().err == ""


def test_print_line_for_non_interactive_runs():
    stream = io.StringIO()
    line = print_line(120, 5000, {"loss": 0.00123456, "lr": 1e-3}, 45.23, 5025.0, stream=stream)
    assert line == "step 120/5000 (2.4%) | loss 0.001235 | lr 0.001 | 45.2 img/s | ETA 1:23:45"
    assert stream.getvalue() == line + "\n"


def test_eta_and_duration_helpers():
    assert estimate_eta(100, 1000, 50.0) == pytest.approx(450.0)
    assert estimate_eta(0, 1000, 0.0) is None and estimate_eta(1000, 1000, 9.0) == 0.0
    assert format_duration(3725) == "1:02:05" and format_duration(math.nan) == "?"
