"""The training loop: labelled (+ unlabelled) streams -> method step -> optimizer, with periodic
validation, checkpoints, the collapse monitor and logs. Read top to bottom: `fit` is the loop."""
from __future__ import annotations

import io
import logging
import math
import resource
import time
from pathlib import Path
from typing import Optional

import torch

from semipose.config import Config
from semipose.configtools import short_repr, to_dict
from semipose.data.batch_prep import prepare_batch
from semipose.data.keypoints import keypoint_meta_dict
from semipose.devices import resolve_device
from semipose.engine import checkpoint as ckpt
from semipose.engine import distributed
from semipose.engine.collapse_monitor import CollapseMonitor
from semipose.engine.conventions import resolve_run_convention
from semipose.engine.data_wait import DataWaitMonitor
from semipose.engine.resume_check import ResumeMismatch, resume_changes
from semipose.engine.run_files import record_resume, save_resolved_config
from semipose.engine.run_log import LOG_NAME, ProgressBar, RunLogger, drop_records_after, estimate_eta, print_line
from semipose.engine.schedule import Schedule
from semipose.engine.seeding import seed_everything
from semipose.engine.setup import build_run
from semipose.engine.streams import make_stream_loader
from semipose.engine.validation import validate
from semipose.models.checkpoint_files import CheckpointError, load_checkpoint

log = logging.getLogger("semipose")


class TrainingDiverged(RuntimeError):
    pass


class Trainer:
    def __init__(self, config: Config, device: Optional[torch.device] = None):
        """`device`: train.device already resolved (semipose.devices.resolve_device); resolved here when None."""
        self.config = config = resolve_run_convention(config)  # a public start checkpoint: its convention
        train = config.train
        device = resolve_device(train.device) if device is None else device  # before any data is read
        distributed.init_from_env(train.dist_timeout_s, device.type)  # no-op without torchrun
        self.world = distributed.world()
        seed_everything(train.seed, deterministic=train.deterministic)  # same initial networks on every rank
        self.run_dir = Path(train.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.device = distributed.local_device(device)
        resumed = self._find_resume()                          # checked before any data is read
        changes = resume_changes(resumed[1].get("config") or {}, to_dict(config), str(resumed[0])) \
            if resumed else {}
        self.run = build_run(config, self.device, self.world)   # data, method, optimizer
        self.train_step = distributed.wrap_networks(self.run.method, self.device, train.sync_bn)  # DDP if several
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=train.amp == "fp16")
        self.schedule = Schedule.from_config(train, self.run.iterations_per_epoch)
        self.monitor = CollapseMonitor(config.monitor)
        self.iteration, self.best_metric, self.skipped_steps = 0, -math.inf, 0
        self.last_metrics, self.last_val_iteration = {}, -1
        if resumed:
            self._load_payload(resumed[1], resumed[0])
            log.info("resumed from %s at iteration %d", resumed[0], self.iteration)
        started_at = distributed.all_gather_objects(self.iteration)
        if len(set(started_at)) > 1:
            raise distributed.DistributedSetupError(f"the ranks resume at different iterations {started_at}: "
                                                    f"train.run_dir {self.run_dir} must be shared by every node")
        self._write_run_record(resumed, changes)
        self.logger = RunLogger(self.run_dir, enabled=self.world.is_main)

    def _write_run_record(self, resumed, changes: dict):
        """Only now, every check passed, is the run directory's record touched: config.yaml, the
        resume record, and the log cut back to the resumed step (the steps after it run again)."""
        if not self.world.is_main:
            return
        if resumed:
            for key, (old, new) in changes.items():
                log.warning("resuming with %s changed from %r to %r (allowed by train.resume_changes)", key, old, new)
            record_resume(self.run_dir, resumed[0], self.iteration, changes)
            drop_records_after(self.run_dir / LOG_NAME, self.iteration)
        save_resolved_config(self.config)

    # -- the loop ---------------------------------------------------------------------------
    def fit(self) -> dict:
        train = self.config.train
        labelled_stream, unlabelled_stream = self._streams()
        progress = ProgressBar(total=self.schedule.total, desc="train", initial=self.iteration,
                               enabled=None if self.world.is_main else False)
        window, started = _Window(), (time.perf_counter(), self.iteration)
        self._data_wait = DataWaitMonitor(self.config.data)
        try:
            while self.iteration < self.schedule.total:
                tick = time.perf_counter()
                labelled = _to_device(next(labelled_stream), self.device, self._image_format, self.config.data)
                unlabelled = _to_device(next(unlabelled_stream), self.device, self._image_format,
                                        self.config.data) if unlabelled_stream else None
                window.data_time += time.perf_counter() - tick
                logs = self._step(labelled, unlabelled)
                window.add(logs, time.perf_counter() - tick, self._images(labelled, unlabelled))
                self.iteration += 1
                progress.update(1)
                if self.iteration % train.log_every == 0 or self.iteration == self.schedule.total:
                    self._log_window(window, progress, started)
                    window = _Window()
                if self.iteration % self.config.monitor.every == 0:
                    self._check_collapse(logs)
                if self.schedule.is_boundary(self.iteration, train.val_every):
                    self._validate_and_checkpoint()
                elif self.schedule.is_boundary(self.iteration, train.checkpoint_every):
                    self._save(is_best=False)
        except KeyboardInterrupt:
            if self.world.size > 1:  # saving gathers from every rank, which may not all be interrupted
                log.warning("interrupted at iteration %d: resume from the last periodic checkpoint", self.iteration)
                raise
            log.warning("interrupted at iteration %d: saving a checkpoint before exiting", self.iteration)
            self._save(is_best=False)
            raise
        except RuntimeError as error:
            if not distributed.is_collective_failure(error):
                raise
            raise distributed.LostRanks(f"rank {self.world.rank} at iteration {self.iteration}: another process "
                                        f"died, or hung longer than train.dist_timeout_s="
                                        f"{self.config.train.dist_timeout_s}: {error}") from error
        finally:
            progress.close()
        return self._finish()

    def _log_window(self, window: "_Window", progress: ProgressBar, started):
        summary = distributed.mean_across_ranks(window.summary(self._lr()), self.device)
        summary["images_per_s"] *= self.world.size  # the whole job's throughput
        self.logger.log(self.iteration, summary, kind="train")
        self._data_wait.check(summary["data_time"], summary["step_time"])
        progress.set_postfix({"loss": f"{summary['loss']:.3g}"})
        if not progress.enabled:  # a plain line for logs of non-interactive runs
            eta = estimate_eta(self.iteration - started[1], self.schedule.total - started[1],
                               time.perf_counter() - started[0])
            log.info(print_line(self.iteration, self.schedule.total, {"loss": summary["loss"]},
                                summary["images_per_s"], eta, stream=io.StringIO()).strip())

    def _step(self, labelled: dict, unlabelled) -> dict:
        self.run.method.train()
        output = self.train_step(labelled, unlabelled, self.iteration)
        # Log values stay on the device until a log line is written: one sync per step (the loss check).
        logs = {name: value.detach() if torch.is_tensor(value) else value for name, value in output.logs.items()}
        logs["loss"] = output.loss.detach()
        self.run.optimizer.zero_grad(set_to_none=True)
        # Backward comes first even for a bad loss: under DDP every rank must complete this step's
        # gradient all-reduce. The gradients of a skipped step are dropped below.
        self.scaler.scale(output.loss).backward()
        if not distributed.finite_on_every_rank(logs["loss"]):
            self._non_finite(distributed.mean_across_ranks(logs, self.device))
            return logs
        self.scaler.step(self.run.optimizer)  # a plain optimizer.step() unless amp=fp16
        self.scaler.update()
        self.run.method.after_optimizer_step(self.iteration)
        for group in self.run.optimizer.param_groups:
            group["lr"] = self.schedule.lr(self.iteration + 1, self.config.train.lr)
        return logs

    def _non_finite(self, logs: dict):
        bad = sorted(name for name, value in logs.items() if not math.isfinite(value))
        message = f"non-finite loss at iteration {self.iteration}: {', '.join(bad)}"
        self.skipped_steps += 1
        if self.config.train.nan_policy == "stop" or self.skipped_steps > self.config.train.max_skipped_steps:
            self.logger.log(self.iteration, {"diverged": 1.0, "skipped_steps": self.skipped_steps}, kind="event")
            raise TrainingDiverged(message + f"; the last good checkpoint is in {self.run_dir}")
        log.warning("%s: step skipped (%d so far)", message, self.skipped_steps)
        self.run.optimizer.zero_grad(set_to_none=True)

    # -- validation, checkpoints, collapse ----------------------------------------------------
    def _validate_and_checkpoint(self) -> dict:
        try:
            metrics = validate(self.run, self.config, self.device)
        except Exception:
            if self.world.size == 1:  # a failed validation must not cost the training before it
                log.error("validation failed at iteration %d: saving the training first", self.iteration)
                self._save(is_best=False)
            raise
        self.last_metrics, self.last_val_iteration = metrics, self.iteration
        self.logger.log(self.iteration, metrics, kind="val")
        main = metrics[self.run.main_metric_key]
        is_best = main > self.best_metric
        self.best_metric = max(self.best_metric, main)
        self._save(is_best=is_best)
        log.info("iteration %d: %s = %.4f (best %.4f)", self.iteration, self.run.main_metric_key, main,
                 self.best_metric)
        return metrics

    def _check_collapse(self, logs: dict):
        # Averaged over the ranks, so every rank takes the same decision (warn, stop or roll back).
        event = self.monitor.update(self.iteration, distributed.mean_across_ranks(logs, self.device))
        if event is None:
            return
        self.logger.log(self.iteration, {"collapse_alarm": 1.0, **event.as_dict()}, kind="event")
        log.warning("COLLAPSE ALARM at iteration %d: %s", self.iteration, event.message)
        if self.config.monitor.action == "stop":
            raise TrainingDiverged(f"stopped by the collapse monitor: {event.message}")
        if self.config.monitor.action == "rollback":
            self._rollback()

    def _rollback(self):
        found = ckpt.find_resume_checkpoint(self.run_dir, healthy_only=True)
        if found is None:
            log.warning("no healthy checkpoint to roll back to; continuing")
            return
        path, payload = found
        log.warning("rolling back to %s", path)
        self._load_payload(payload, path)

    def _payload(self) -> dict:
        return {"method": self.run.method.state_dict(), "optimizer": self.run.optimizer.state_dict(),
                "iteration": self.iteration, "best_metric": self.best_metric, "skipped_steps": self.skipped_steps,
                "healthy": self.monitor.state == "ok", "monitor": self.monitor.state_dict(),
                "config": to_dict(self.config), "rng": ckpt.rng_state(),
                "keypoints": keypoint_meta_dict(self.run.data.meta), "grad_scaler": self.scaler.state_dict(),
                "rank_states": distributed.all_gather_objects(self._rank_state())}

    def _rank_state(self) -> dict:
        """What differs between ranks: the global RNGs and the method's own generators (extra state)."""
        extra = {key: value for key, value in self.run.method.state_dict().items() if key.endswith("_extra_state")}
        return {"rng": ckpt.rng_state(), "method_extra": extra}

    def _save(self, is_best: bool):
        payload = self._payload()  # on every rank: it gathers their random states
        if self.world.is_main:
            ckpt.save_training_checkpoint(self.run_dir, payload, keep_last=self.config.train.keep_checkpoints,
                                          is_best=is_best)
        distributed.barrier()  # the file exists for every rank once _save returns (a rollback reads it)

    def _find_resume(self):
        """(source, payload) of the checkpoint to continue from: train.resume, else the run
        directory's newest one when train.auto_resume; None to start afresh."""
        train = self.config.train
        if train.resume:
            return train.resume, load_checkpoint(train.resume)
        return ckpt.find_resume_checkpoint(self.run_dir) if train.auto_resume else None

    def _load_payload(self, payload: dict, source="checkpoint"):
        missing = [key for key in ("method", "optimizer", "iteration", "rng") if key not in payload]
        if missing:
            raise CheckpointError(f"{source}: not a semipose training checkpoint (no {', '.join(missing)}); "
                                       "to start from pose weights use model.checkpoint=PATH instead of --resume")
        try:
            self.run.method.load_state_dict(payload["method"])
            self.run.optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:  # torch lists every key: keep the first line
            raise CheckpointError(f"{source}: the checkpoint's networks do not fit this config's: "
                                       f"{short_repr(str(error).splitlines()[0], 300)}") from None
        self.iteration = int(payload["iteration"])
        if self.iteration > self.schedule.total:
            raise ResumeMismatch(f"{source}: the checkpoint is at iteration {self.iteration}, past the "
                                 f"{self.schedule.total} iterations this config trains; raise train.iterations "
                                 "(or train.epochs), or use a new train.run_dir")
        self.best_metric = float(payload["best_metric"])
        self.skipped_steps = int(payload.get("skipped_steps", 0))
        self.monitor.load_state_dict(payload.get("monitor", {}))
        self.scaler.load_state_dict(payload.get("grad_scaler") or self.scaler.state_dict())
        ckpt.set_rng_state(payload["rng"])
        self._load_rank_state(payload.get("rank_states"))

    def _load_rank_state(self, rank_states):
        if rank_states and len(rank_states) == self.world.size:
            own = rank_states[self.world.rank]
            ckpt.set_rng_state(own["rng"])
            self.run.method.load_state_dict(own["method_extra"], strict=False)
        elif self.world.size > 1:
            log.warning("the checkpoint comes from %s processes, this run has %d: data streams and per-rank "
                        "random draws restart from the iteration count, not exactly where they stopped",
                        len(rank_states) if rank_states else "an unknown number of", self.world.size)

    # -- helpers ------------------------------------------------------------------------------
    def _streams(self):
        train = self.config.train
        labelled = self._stream(self.run.data.labelled, train.batch_size, "labelled")
        if not self.run.method.uses_unlabelled:
            return labelled, None
        return labelled, self._stream(self.run.data.unlabelled, train.unlabelled_batch_size or train.batch_size,
                                      "unlabelled")

    def _stream(self, dataset, batch_per_rank: int, name: str):
        """Rank r takes every world-size-th position: together the ranks read the single-process
        stream of a batch_per_rank x world-size batch, and resume at iteration x that batch."""
        global_batch = batch_per_rank * self.world.size
        return iter(make_stream_loader(dataset, batch_per_rank, self.config.train.seed, name,
                                       start=self.iteration * global_batch, workers=self.config.data.workers,
                                       shard=self.world.rank, num_shards=self.world.size))

    @property
    def _image_format(self) -> torch.memory_format:
        return torch.channels_last if self.config.train.channels_last else torch.preserve_format

    def _lr(self) -> float:
        return self.run.optimizer.param_groups[0]["lr"]

    @staticmethod
    def _images(labelled, unlabelled) -> int:
        return len(labelled["image"]) + (len(unlabelled["image"]) if unlabelled is not None else 0)

    def _finish(self) -> dict:
        from semipose.engine.outputs import write_run_outputs
        if self.last_val_iteration != self.iteration:
            self._validate_and_checkpoint()
        return write_run_outputs(self, self.last_metrics)


class _Window:
    """Running sums between two log lines."""

    def __init__(self):
        self.totals, self.steps, self.images, self.data_time, self.step_time = {}, 0, 0, 0.0, 0.0
        self.started = time.perf_counter()

    def add(self, logs: dict, step_time: float, images: int):
        for name, value in logs.items():
            self.totals[name] = self.totals.get(name, 0.0) + value
        self.steps, self.images, self.step_time = self.steps + 1, self.images + images, self.step_time + step_time

    def summary(self, lr: float) -> dict:
        steps = max(self.steps, 1)
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return {**{name: float(total) / steps for name, total in self.totals.items()}, "lr": lr,
                "data_time": self.data_time / steps, "step_time": self.step_time / steps,
                "images_per_s": self.images / elapsed,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _to_device(batch: dict, device, image_format=torch.preserve_format, data=None) -> dict:
    """Loader batches -> what a method receives (semipose.data.batch_prep.prepare_batch): on the device,
    normalised images in the networks' memory format, heatmap targets drawn there (given `data`)."""
    return prepare_batch(batch, data, device, image_format)
