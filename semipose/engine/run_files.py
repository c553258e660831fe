"""Files of a run directory that are not checkpoints or logs: the resolved config, the lock that
keeps one run per directory, the record of resumes, and the removal of a crash's temp files."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import time
from pathlib import Path

import yaml

from semipose.configtools import to_dict

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
RESUMES_NAME = "resumes.jsonl"
# What an interrupted atomic write leaves: checkpoint.save_checkpoint's NAME.tmp-PID, this file's config.yaml.tmp.
_TEMP_FILE = re.compile(r"^.+\.tmp(-\d+)?$")


class RunDirInUse(OSError):
    """Another process holds the run directory."""


def save_resolved_config(config) -> Path:
    """The fully resolved config, so `semipose train RUN_DIR/config.yaml` repeats the run."""
    run_dir = Path(config.train.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.yaml"
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    tmp.replace(path)
    return path


@contextlib.contextmanager
def hold_run_dir(run_dir: str | Path):
    """An exclusive lock on RUN_DIR/.lock for the duration of a run. flock belongs to the open file,
    so the kernel drops it when the process dies: a crashed or killed run never leaves it stuck.
    A second run on the directory gets RunDirInUse naming the holder's pid."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunDirInUse(f"{run_dir}: the run directory is in use by another training process (pid "
                              f"{holder}); wait for it to end or choose another train.run_dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale_temp_files(run_dir: str | Path) -> list[Path]:
    """Delete the temp files of writes a killed run never finished. Call only while holding the
    run directory: then no other process can be writing them."""
    run_dir = Path(run_dir)
    stale = [path for path in run_dir.iterdir() if path.is_file() and _TEMP_FILE.match(path.name)] \
        if run_dir.is_dir() else []
    for path in stale:
        size = path.stat().st_size
        path.unlink(missing_ok=True)
        log.warning("removed %s (%d bytes), left by an interrupted write of an earlier run", path, size)
    return stale


def record_resume(run_dir: str | Path, source: str, iteration: int, changes: dict) -> None:
    """Append to RUN_DIR/resumes.jsonl where a session resumed and which config changes it made."""
    record = {"time": round(time.time(), 3), "source": str(source), "iteration": int(iteration),
              "changes": {key: {"was": old, "now": new} for key, (old, new) in changes.items()}}
    with open(Path(run_dir) / RESUMES_NAME, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record, default=str) + "\n")
