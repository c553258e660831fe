"""Atomic, weights_only-safe checkpoints; resume fallback; RNG state round trip; worker seeding."""

from __future__ import annotations

import errno
import logging
import os
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from semipose.engine import checkpoint as checkpoint_module
from semipose.engine.checkpoint import (
    CheckpointWriteError,
    checkpoint_name,
    find_resume_checkpoint,
    numbered_checkpoints,
    rng_state,
    save_checkpoint,
    save_training_checkpoint,
    set_rng_state,
)
from semipose.models.checkpoint_files import CheckpointError, load_checkpoint
from semipose.engine.seeding import make_worker_init, seed_everything


def small_payload(iteration: int = 0) -> dict:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    return {
        "iteration": iteration,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "config": {"model": {"input_size": [192, 256]}, "lr": 1e-3, "pretrained": None},
    }


def leftover_temp_files(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name]


@pytest.fixture
def restore_global_rng():
    saved = rng_state()
    yield
    set_rng_state(saved)


# ----------------------------------------------------------------------------- single files


def test_save_then_load_gives_equal_tensors_and_values(tmp_path):
    payload = small_payload(7)
    save_checkpoint(tmp_path / "c.pt", payload)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert loaded["iteration"] == 7 and loaded["config"] == payload["config"]
    for name, tensor in payload["model"].items():
        assert torch.equal(loaded["model"][name], tensor)
    assert loaded["optimizer"]["param_groups"] == payload["optimizer"]["param_groups"]
    assert leftover_temp_files(tmp_path) == []


@pytest.mark.parametrize(
    "payload, where",
    [
        ({"a": np.zeros(3)}, r"payload\['a'\] is a numpy.ndarray.*torch.from_numpy"),
        ({"a": [1, {"b": np.float64(1.0)}]}, r"payload\['a'\]\[1\]\['b'\] is a numpy.float64"),
        ({"a": Path("x")}, r"payload\['a'\] is a pathlib"),
        ({"a": {(1, 2): 3}}, r"payload\['a'\]: dict key \(1, 2\) is a tuple"),
    ],
)
def test_non_plain_payload_is_rejected_with_key_path(tmp_path, payload, where):
    with pytest.raises(TypeError, match=where):
        save_checkpoint(tmp_path / "c.pt", payload)
    assert list(tmp_path.iterdir()) == []


def test_failure_during_replace_keeps_previous_file_and_removes_temp(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"version": 1})

    def failing_replace(source, target):
        raise OSError(errno.EIO, "simulated I/O error")

    monkeypatch.setattr(checkpoint_module.os, "replace", failing_replace)
    with pytest.raises(CheckpointWriteError, match=r"c\.pt.*simulated I/O error"):
        save_checkpoint(path, {"version": 2})
    monkeypatch.undo()
    assert load_checkpoint(path) == {"version": 1}
    assert leftover_temp_files(tmp_path) == []


def test_disk_full_mid_write_raises_write_error_naming_path_and_os_error(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"version": 1})
    real_save = torch.save

    def save_until_disk_full(obj, writer):
        writer.write(b"PK\x03\x04 partial bytes")  # some bytes reach the temp file first
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint_module.torch, "save", save_until_disk_full)
    with pytest.raises(CheckpointWriteError, match=r"c\.pt.*No space left on device") as info:
        save_checkpoint(path, {"version": 2})
    assert isinstance(info.value, OSError)
    monkeypatch.setattr(checkpoint_module.torch, "save", real_save)
    assert load_checkpoint(path) == {"version": 1}
    assert leftover_temp_files(tmp_path) == []


def test_os_error_wrapped_by_torch_zip_writer_is_still_reported(tmp_path, monkeypatch):
    """torch's zip writer re-raises a failed write as RuntimeError; the errno must survive."""

    class FullDiskStream:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self):
            pass

    real_writer = checkpoint_module._RecordingWriter
    monkeypatch.setattr(
        checkpoint_module, "_RecordingWriter", lambda stream: real_writer(FullDiskStream(stream))
    )
    with pytest.raises(CheckpointWriteError, match="No space left on device"):
        save_checkpoint(tmp_path / "c.pt", {"weights": torch.zeros(1000)})
    assert list(tmp_path.iterdir()) == []


def test_truncated_and_non_zip_files_give_checkpoint_error(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, small_payload())
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"c\.pt: cannot load checkpoint: truncated, corrupted"):
        load_checkpoint(path)
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match=r"text\.pt: cannot load checkpoint"):
        load_checkpoint(tmp_path / "text.pt")
    with pytest.raises(CheckpointError, match=r"absent\.pt: checkpoint file not found"):
        load_checkpoint(tmp_path / "absent.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="expected a dict payload, got list"):
        load_checkpoint(tmp_path / "list.pt")


class CreatesMarkerWhenUnpickled:
    marker = ""

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickled_object_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "code_was_executed"
    evil = CreatesMarkerWhenUnpickled()
    evil.marker = str(marker)
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "extra": evil}, path)  # plain torch.save: what an attacker could ship
    assert zipfile.is_zipfile(path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "evil.pt" in message and "refused by weights_only loading" in message
    assert "GLOBAL" in message and "Traceback" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not marker.exists()


# ----------------------------------------------------------------------------- run directories


def test_checkpoint_names():
    assert checkpoint_name(iteration=1234) == "checkpoint_00001234.pt"
    assert checkpoint_name(epoch=12) == "checkpoint_epoch0012.pt"
    with pytest.raises(ValueError, match="exactly one"):
        checkpoint_name()


def test_training_checkpoints_prune_and_keep_last_and_best(tmp_path):
    for iteration in (100, 200, 300, 400):
        save_training_checkpoint(tmp_path, {"iteration": iteration}, keep_last=2, is_best=iteration == 200)
    assert [p.name for p in numbered_checkpoints(tmp_path)] == [
        "checkpoint_00000300.pt",
        "checkpoint_00000400.pt",
    ]
    assert load_checkpoint(tmp_path / "last.pt")["iteration"] == 400
    assert load_checkpoint(tmp_path / "best.pt")["iteration"] == 200  # survives pruning of its source
    assert leftover_temp_files(tmp_path) == []
    with pytest.raises(ValueError, match="iteration"):
        save_training_checkpoint(tmp_path, {"epoch": 3})


def test_last_pt_is_complete_even_without_hard_links(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(checkpoint_module.os, "link", no_links)
    save_training_checkpoint(tmp_path, {"iteration": 5, "w": torch.arange(4)})
    assert torch.equal(load_checkpoint(tmp_path / "last.pt")["w"], torch.arange(4))


def test_resume_prefers_last_pt(tmp_path):
    assert find_resume_checkpoint(tmp_path) is None
    for iteration in (10, 20):
        save_training_checkpoint(tmp_path, {"iteration": iteration})
    path, payload = find_resume_checkpoint(tmp_path)
    assert path.name == "last.pt" and payload["iteration"] == 20


def test_resume_skips_truncated_newest_files_with_a_warning(tmp_path, caplog):
    for iteration in (10, 20):
        save_training_checkpoint(tmp_path, {"iteration": iteration, "w": torch.zeros(100)})
    newest = tmp_path / "checkpoint_00000020.pt"
    # A crash mid-copy leaves both last.pt and the newest numbered file truncated.
    (tmp_path / "last.pt").unlink()
    newest.write_bytes(newest.read_bytes()[:300])
    (tmp_path / "last.pt").write_bytes(newest.read_bytes())
    with caplog.at_level(logging.WARNING, logger="semipose.engine.checkpoint"):
        path, payload = find_resume_checkpoint(tmp_path)
    assert path.name == "checkpoint_00000010.pt" and payload["iteration"] == 10
    warnings = " ".join(record.getMessage() for record in caplog.records)
    assert "last.pt" in warnings and "checkpoint_00000020.pt" in warnings and "truncated" in warnings


def test_resume_falls_back_to_best_when_numbered_files_are_gone(tmp_path):
    save_training_checkpoint(tmp_path, {"iteration": 10}, is_best=True)
    for path in numbered_checkpoints(tmp_path) + [tmp_path / "last.pt"]:
        path.unlink()
    path, payload = find_resume_checkpoint(tmp_path)
    assert path.name == "best.pt" and payload["iteration"] == 10


def test_healthy_only_skips_checkpoints_saved_while_unhealthy(tmp_path):
    for iteration, healthy in ((10, True), (20, True), (30, False)):
        save_training_checkpoint(tmp_path, {"iteration": iteration, "healthy": healthy}, keep_last=3)
    assert find_resume_checkpoint(tmp_path)[1]["iteration"] == 30
    path, payload = find_resume_checkpoint(tmp_path, healthy_only=True)
    assert path.name == "checkpoint_00000020.pt" and payload["iteration"] == 20


# ----------------------------------------------------------------------------- RNG and seeding


def draw_numbers() -> tuple:
    return (
        [random.random() for _ in range(3)],
        random.gauss(0, 1),
        np.random.rand(3).tolist(),
        np.random.normal(),
        torch.rand(3).tolist(),
    )


def test_rng_state_round_trips_through_a_weights_only_checkpoint(tmp_path, restore_global_rng):
    random.gauss(0, 1)  # leaves a cached Gaussian in both python's and numpy's state
    np.random.normal()
    save_checkpoint(tmp_path / "rng.pt", {"rng": rng_state()})
    expected = draw_numbers()
    draw_numbers()  # move every generator on
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert draw_numbers() == expected


def test_seed_everything_is_reproducible(restore_global_rng):
    seed_everything(123)
    first = draw_numbers()
    seed_everything(123, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert draw_numbers() == first
    seed_everything(124)
    assert not torch.are_deterministic_algorithms_enabled()
    assert draw_numbers() != first


def test_worker_init_depends_on_seed_epoch_and_worker(restore_global_rng):
    def numbers_after(init, worker_id):
        init(worker_id)
        return draw_numbers()

    epoch = {"value": 0}
    init = make_worker_init(7, lambda: epoch["value"])
    worker0_epoch0 = numbers_after(init, 0)
    assert numbers_after(init, 0) == worker0_epoch0
    assert numbers_after(init, 1) != worker0_epoch0
    epoch["value"] = 1
    assert numbers_after(init, 0) != worker0_epoch0
    assert numbers_after(make_worker_init(8, 0), 0) != worker0_epoch0
    assert numbers_after(make_worker_init(7, 0), 0) == worker0_epoch0
