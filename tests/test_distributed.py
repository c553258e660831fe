"""Distributed training with real processes on gloo (CPU), and the mixed-precision / memory-format options.

Spawned workers set the variables torchrun would set (RANK, WORLD_SIZE, ... on a free local port);
one test launches the real `torchrun ... -m semipose train` command line.
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from semipose import api
from semipose.models.checkpoint_files import load_checkpoint
from semipose.engine import distributed
from semipose.engine.run_log import read_log
from semipose.engine.streams import StreamSampler
from semipose.engine.trainer import Trainer
from semipose.models.registry import MODELS
from semipose.models.tiny import TinyPoseNet
from tests.conftest import synth_overrides

REPO = Path(__file__).resolve().parents[1]
FAST = ["train.val_every=100", "train.checkpoint_every=100", "train.iterations=4", "train.lr_steps=[100]"]


# ----------------------------------------------------------------------------- helpers

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_entry(worker, rank: int, world_size: int, port: int, args: tuple):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)  # two processes share the machine's cores
    worker(rank, *args)
    distributed.cleanup()


def _spawn(worker, *args, world_size: int = 2, timeout: float = 80.0, kill_after_rank0: bool = False) -> list:
    """Run worker(rank, *args) in `world_size` fresh processes; their exit codes."""
    context, port = mp.get_context("spawn"), _free_port()
    processes = [context.Process(target=_rank_entry, args=(worker, rank, world_size, port, args))
                 for rank in range(world_size)]
    for process in processes:
        process.start()
    deadline = time.monotonic() + timeout
    try:
        for rank, process in enumerate(processes):
            if kill_after_rank0 and rank > 0:
                process.kill()
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                pytest.fail(f"rank {rank} still running after {timeout} s")
    finally:
        for process in processes:  # none outlives the test
            process.kill()
            process.join()
    return [process.exitcode for process in processes]


def _tiny_groupnorm(num_keypoints: int, width: int = 32) -> nn.Module:
    """The tiny net with GroupNorm for BatchNorm: per-sample statistics, so the gradient of a batch
    split over ranks equals the gradient of the whole batch (torch's SyncBatchNorm is CUDA-only)."""
    network = TinyPoseNet(num_keypoints, width)
    for parent in list(network.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(parent, name, nn.GroupNorm(4, child.num_features))
    return network


def _trainer(overrides: list) -> Trainer:
    """A Trainer whose fit() stops after the last step (no final validation or plots: faster)."""
    trainer = Trainer(api.load_config(None, overrides))
    trainer._finish = lambda: None
    return trainer


def _trained_networks(rank: int, overrides: list, out: Path):
    """Train, then save this rank's parameters (to check that the ranks agree)."""
    MODELS["tiny_groupnorm"] = _tiny_groupnorm
    trainer = _trainer(overrides)
    trainer.fit()
    torch.save(trainer.run.method.networks.state_dict(), out / f"networks_rank{rank}.pt")


def _states(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _losses(run_dir: Path) -> dict:
    return {row["step"]: row["loss"] for row in read_log(run_dir / "log.jsonl", kind="train")}


# ----------------------------------------------------------------------------- pieces, in one process

def test_shards_are_contiguous_near_equal_and_cover_everything_once():
    assert [list(distributed.shard_range(5, rank, 2)) for rank in range(2)] == [[0, 1], [2, 3, 4]]
    for length in range(0, 12):
        for size in range(1, 5):
            shards = [distributed.shard_range(length, rank, size) for rank in range(size)]
            assert [i for shard in shards for i in shard] == list(range(length))
            assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_ranks_together_read_the_single_process_stream():
    """Rank r of W with batch B reads positions r, r+W, ...; per step the ranks together read the
    same B*W samples as one process with batch B*W, also when resuming at iteration i."""
    length, batch, world, iteration = 13, 3, 2, 5
    start = iteration * batch * world
    single = iter(StreamSampler(length, 7, "labelled", start=start))
    ranks = [iter(StreamSampler(length, 7, "labelled", start=start, shard=r, num_shards=world)) for r in range(world)]
    for _ in range(4):
        expected = sorted(next(single) for _ in range(batch * world))
        assert sorted(next(rank) for rank in ranks for _ in range(batch)) == expected


def test_rank_seeds_keep_rank_0_and_differ_elsewhere():
    seeds = [distributed.rank_seed(3, rank) for rank in range(4)]
    assert seeds[0] == 3 and len(set(seeds)) == 4
    assert distributed.rank_seed(3, 2) == distributed.rank_seed(3, 2)


def test_single_process_needs_no_launcher(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.init_from_env(10) is False
    assert distributed.world() == distributed.World(rank=0, local_rank=0, size=1) and distributed.is_main()
    assert distributed.all_gather_objects("x") == ["x"] and distributed.broadcast_object(5) == 5
    assert distributed.mean_across_ranks({"loss": torch.tensor(0.5)}, torch.device("cpu")) == {"loss": 0.5}
    assert distributed.finite_on_every_rank(torch.tensor(1.0))
    assert not distributed.finite_on_every_rank(torch.tensor(float("nan")))


def test_an_incomplete_launcher_environment_is_named(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in distributed.REQUIRED_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(distributed.DistributedSetupError, match="RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT"):
        distributed.init_from_env(10)


# ----------------------------------------------------------------------------- data parallel = big batch

def test_two_processes_match_one_process_on_the_global_batch(synth_dir, tmp_path, monkeypatch):
    common = ["model.name=tiny_groupnorm", *FAST]
    monkeypatch.setitem(MODELS, "tiny_groupnorm", _tiny_groupnorm)
    single = tmp_path / "single"
    single.mkdir()
    _trained_networks(0, synth_overrides(synth_dir, single) + common + ["train.batch_size=8"], single)

    split = tmp_path / "split"
    split.mkdir()
    codes = _spawn(_trained_networks, synth_overrides(synth_dir, split) + common + ["train.batch_size=4"], split)
    assert codes == [0, 0]

    reference = _states(single / "networks_rank0.pt")
    rank0, rank1 = _states(split / "networks_rank0.pt"), _states(split / "networks_rank1.pt")
    for name, value in reference.items():
        assert torch.equal(rank0[name], rank1[name]), f"ranks disagree on {name}"
        torch.testing.assert_close(rank0[name], value, rtol=1e-5, atol=1e-6, msg=f"{name} differs from 1 process")
    assert _losses(split) == pytest.approx(_losses(single), rel=1e-5)  # rank-averaged = whole-batch mean


# ----------------------------------------------------------------------------- resume, CLI, failures

def _straight_and_resumed(rank: int, straight: list, first_half: list, second_half: list, out: Path):
    from semipose.config import ConfigValueError
    try:
        Trainer(api.load_config(None, straight + ["train.sync_bn=true"]))
    except ConfigValueError as error:
        (out / f"sync_bn_rank{rank}.txt").write_text(str(error))
    for overrides in (straight, first_half, second_half):
        Trainer(api.load_config(None, overrides)).fit()


def test_two_process_run_resumes_onto_the_same_loss_curve(synth_dir, tmp_path):
    method = ["method.name=single", "method.hard.joint_cutout.num_joints=2", "train.batch_size=4",
              "train.val_every=4", "train.checkpoint_every=100", "train.lr_steps=[6]"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    codes = _spawn(_straight_and_resumed, synth_overrides(synth_dir, straight) + method,
                   synth_overrides(synth_dir, resumed) + method + ["train.iterations=4"],
                   synth_overrides(synth_dir, resumed) + method, tmp_path)
    assert codes == [0, 0]
    reference, continued = _losses(straight), _losses(resumed)
    assert sorted(reference) == list(range(1, 9))            # one record per step: only rank 0 logs
    assert [continued[s] for s in range(5, 9)] == [reference[s] for s in range(5, 9)]
    rank_states = load_checkpoint(resumed / "last.pt")["rank_states"]
    assert len(rank_states) == 2 and rank_states[0]["method_extra"] != rank_states[1]["method_extra"]
    assert "CUDA" in (tmp_path / "sync_bn_rank0.txt").read_text()


def test_torchrun_command_line_trains_dual_on_two_processes(synth_dir, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("method:\n  name: dual\n")
    run_dir = tmp_path / "run"
    overrides = synth_overrides(synth_dir, run_dir) + [*FAST, "train.batch_size=4"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "semipose", "train", str(config), *overrides]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(_losses(run_dir)) == [1, 2, 3, 4]
    payload = load_checkpoint(run_dir / "last.pt")
    assert payload["iteration"] == 4 and len(payload["rank_states"]) == 2
    assert {"a/AP", "b/AP", "mean/AP"} <= set(read_log(run_dir / "log.jsonl", kind="val")[-1])


def _fails_at_iteration_2(rank: int, overrides: list, how: str, out: Path):
    trainer = Trainer(api.load_config(None, overrides))
    step = trainer._step

    def step_or_fail(labelled, unlabelled):
        if rank == 1 and trainer.iteration == 2:
            if how == "dies":
                os._exit(3)
            time.sleep(60)
        return step(labelled, unlabelled)

    trainer._step = step_or_fail
    started = time.monotonic()
    try:
        trainer.fit()
    except distributed.LostRanks as error:
        (out / "error.txt").write_text(f"{time.monotonic() - started:.1f}\n{error}")


@pytest.mark.parametrize("how", ["dies", "hangs"])
def test_a_lost_rank_ends_the_others_with_a_clear_error(synth_dir, tmp_path, how):
    overrides = synth_overrides(synth_dir, tmp_path / "run") + [*FAST, "train.dist_timeout_s=4"]
    codes = _spawn(_fails_at_iteration_2, overrides, how, tmp_path, kill_after_rank0=True)
    seconds, message = (tmp_path / "error.txt").read_text().split("\n", 1)
    assert codes[0] == 0 and float(seconds) < 30
    assert "rank 0 at iteration 2" in message and "train.dist_timeout_s=4" in message


# ----------------------------------------------------------------------------- mixed precision, memory format

def _first_losses(synth_dir, run_dir, *options) -> tuple:
    trainer = _trainer(synth_overrides(synth_dir, run_dir) + [*FAST, "train.iterations=2", *options])
    trainer.fit()
    return trainer, [_losses(run_dir)[step] for step in (1, 2)]


@pytest.fixture(scope="module")
def float32_losses(synth_dir, tmp_path_factory):
    return _first_losses(synth_dir, tmp_path_factory.mktemp("float32"))[1]


def test_autocast_runs_the_convolutions_in_bf16_and_returns_float32():
    from semipose.engine.setup import autocast_forward
    network, images = TinyPoseNet(17, width=8), torch.randn(2, 3, 64, 48)
    reference = network(images)
    autocast_forward(network, "cpu", torch.bfloat16)
    seen = []
    network.smooth.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    heatmaps = network(images)
    assert seen == [torch.bfloat16] and heatmaps.dtype == torch.float32
    torch.testing.assert_close(heatmaps, reference, rtol=0.0, atol=0.05 * float(reference.detach().abs().max()))


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains_near_float32(synth_dir, tmp_path, float32_losses, amp):
    trainer, losses = _first_losses(synth_dir, tmp_path, f"train.amp={amp}")
    # Step 1 has the same weights and data: only the forward's precision differs.
    assert losses[0] == pytest.approx(float32_losses[0], rel=0.02)
    assert all(torch.isfinite(torch.tensor(losses)))
    network, seen = trainer.run.method.networks["main"], []
    network.smooth.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    assert network(torch.zeros(1, 3, 64, 48)).dtype == torch.float32
    assert seen == [{"bf16": torch.bfloat16, "fp16": torch.float16}[amp]]
    scaler_state = trainer._payload()["grad_scaler"]
    assert (scaler_state["scale"] > 0) if amp == "fp16" else scaler_state == {}


def test_channels_last_trains_like_the_default_layout(synth_dir, tmp_path, float32_losses):
    from semipose.engine.trainer import _to_device
    trainer, losses = _first_losses(synth_dir, tmp_path, "train.channels_last=true")
    conv = trainer.run.method.networks["main"].stem[0][0]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    moved = _to_device({"image": torch.zeros(2, 3, 8, 8)}, torch.device("cpu"), trainer._image_format)
    assert moved["image"].is_contiguous(memory_format=torch.channels_last)
    assert losses == pytest.approx(float32_losses, rel=1e-4)


@pytest.mark.slow
def test_compiled_networks_train_like_eager_ones(synth_dir, tmp_path, float32_losses):
    trainer, losses = _first_losses(synth_dir, tmp_path, "train.compile=true")
    assert losses == pytest.approx(float32_losses, rel=1e-4)
    assert set(trainer.run.method.state_dict()) == set(Trainer(trainer.config).run.method.state_dict())
