"""The trainer's one warning when the loader sets the pace (semipose.engine.data_wait)."""
import logging

import pytest

from semipose.config import DataConfig
from semipose.engine.data_wait import DataWaitMonitor


def test_warns_once_above_a_fifth_of_the_step_after_the_first_window(caplog):
    monitor = DataWaitMonitor(DataConfig(workers=2))
    with caplog.at_level(logging.WARNING, logger="semipose.engine.data_wait"):
        assert not monitor.check(0.9, 1.0)       # first window: the workers' start-up
        assert not monitor.check(0.20, 1.0)      # exactly 20 %: not above
        assert monitor.check(0.25, 1.0)
        assert not monitor.check(0.9, 1.0)       # once only
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "25 %" in message and "data.workers=2" in message and "semipose cache CONFIG" in message


def test_the_hint_leaves_out_the_cache_when_it_is_in_use(caplog):
    monitor = DataWaitMonitor(DataConfig(workers=8, crop_cache="crops"))
    with caplog.at_level(logging.WARNING, logger="semipose.engine.data_wait"):
        monitor.check(0.5, 1.0)
        assert monitor.check(0.5, 1.0)
    message = caplog.records[0].getMessage()
    assert "data.workers=8" in message and "semipose cache" not in message


@pytest.mark.slow  # three torch imports: 4+ minutes on the shared 2-core machine
def test_gpu_check_skips_cleanly_without_cuda(tmp_path):
    """benchmarks/gpu_check.sh on a machine whose torch sees no CUDA device: exit 0, one line, JSON."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pytest
    import torch
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here: the check would run for minutes")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    done = subprocess.run(["bash", str(script), str(tmp_path / "out")], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable}, timeout=1200)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("gpu_check: skipped: torch") and "no CUDA device" in done.stdout
    assert "sees no CUDA device" in json.loads((tmp_path / "out" / "gpu_check.json").read_text())["skipped"]
