"""SIGTERM, what cluster schedulers (slurm, Kubernetes) and torchrun send before they stop a job,
handled like Ctrl-C: the training loop saves a checkpoint and the process exits (docs/distributed.md)."""
from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives; a KeyboardInterrupt, so every path that
    saves on Ctrl-C saves on it too."""

    exit_code = 128 + signal.SIGTERM


def _raise_terminated(signum, frame):
    raise Terminated("SIGTERM")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block SIGTERM raises Terminated; the previous handler comes back after it.
    Signal handlers can only be set from the main thread: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
