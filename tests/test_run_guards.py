"""Guards around a run directory (issue 18): one process per directory, a resume that would load
weights of another architecture refused before anything is written, SIGTERM saving a checkpoint."""
import os
import signal
import subprocess
import sys
import time

import pytest

from semipose import api
from semipose.engine import checkpoint as ckpt
from semipose.engine.resume_check import ResumeMismatch
from semipose.engine.run_files import LOCK_NAME, RunDirInUse
from semipose.engine.signals import Terminated, sigterm_as_interrupt
from semipose.engine.trainer import Trainer
from tests.conftest import synth_overrides

_HOLD = ("import sys, time\n"
         "from semipose.engine.run_files import hold_run_dir\n"
         "with hold_run_dir(sys.argv[1]):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(120)\n")


def test_a_second_process_on_a_held_run_dir_is_refused_naming_the_holder(synth_dir, tmp_path):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunDirInUse, match=rf"{run_dir}.*in use.*pid {holder.pid}\)"):
            api.train(api.load_config(None, synth_overrides(synth_dir, run_dir)))
        assert sorted(path.name for path in run_dir.iterdir()) == [LOCK_NAME]  # nothing of a run written
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: the directory is free again.
    assert api.train(api.load_config(None, synth_overrides(synth_dir, run_dir)
                                     + ["train.iterations=2", "train.val_every=100"]))["iteration"] == 2


def test_resume_with_another_model_name_is_refused_naming_the_key(synth_dir, tmp_path):
    run_dir = tmp_path / "run"
    overrides = synth_overrides(synth_dir, run_dir) + ["train.iterations=2", "train.val_every=100"]
    api.train(api.load_config(None, overrides))
    before = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()}
    refusal = (r"last\.pt: cannot resume: the checkpoint's networks were built with another "
               r"model\.name 'tiny' -> 'hrnet_w32'")
    with pytest.raises(ResumeMismatch, match=refusal):
        api.train(api.load_config(None, overrides + ["model.name=hrnet_w32"]))
    after = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()}
    assert after == before  # config.yaml, the log and the checkpoints as the first session left them


def test_sigterm_during_training_leaves_a_loadable_last_checkpoint(synth_dir, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    config = api.load_config(None, synth_overrides(synth_dir, run_dir) + ["train.checkpoint_every=100"])
    trainer = Trainer(config)
    original_step = trainer._step

    def step_then_sigterm(labelled, unlabelled):
        if trainer.iteration == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # a real signal: the handler raises in this thread
            time.sleep(5)                         # not reached: the handler runs at the next bytecode
        return original_step(labelled, unlabelled)

    monkeypatch.setattr(trainer, "_step", step_then_sigterm)
    with sigterm_as_interrupt(), pytest.raises(Terminated):
        trainer.fit()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the previous handler is back
    payload = ckpt.load_checkpoint(run_dir / "last.pt")
    assert payload["iteration"] == 3
    assert Trainer(config).iteration == 3  # and a new session resumes from it
