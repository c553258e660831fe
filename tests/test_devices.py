"""One device check for train, eval and predict: clear errors before any data is read."""
import pytest
import torch

from semipose.cli.main import main
from semipose.config import ConfigValueError
from semipose.devices import resolve_device


@pytest.fixture
def cpu_only_torch(monkeypatch):
    """This torch as a CPU-only build reports itself (torch.version.cuda is None there)."""
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_picks_cuda_only_when_there_is_one(cpu_only_torch, caplog):
    with caplog.at_level("INFO", logger="semipose"):
        assert resolve_device("auto") == torch.device("cpu")
    assert "train.device=auto: using cpu (no CUDA device visible)" in caplog.text


def test_plain_names_pass_through():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ".lower()) == torch.device("cpu")


@pytest.mark.parametrize("name, message", [
    ("banana", "train.device: 'banana' is not a device name, expected 'auto', 'cpu', 'cuda'"),
    ("", "train.device: got '', expected"),
    ("cuda:x", "train.device: 'cuda:x' is not a device name"),
    ("meta", "train.device=meta: semipose runs on 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', not 'meta'"),
])
def test_nonsense_devices_are_named(name, message):
    with pytest.raises(ConfigValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_device(name)


def test_cuda_on_a_cpu_only_torch_says_so(cpu_only_torch):
    with pytest.raises(ConfigValueError, match=r"--device=cuda:1: this torch \(.*\) is a CPU-only build.*--device=cpu"):
        resolve_device("cuda:1", "--device")


def test_a_gpu_index_beyond_the_machine(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigValueError, match=r"train.device=cuda:3: this machine has 1 CUDA device\(s\), cuda:0..cuda:0"):
        resolve_device("cuda:3")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(ConfigValueError, match="sees no GPU"):
        resolve_device("cuda")


MISSING = "/nonexistent/semipose-test"


@pytest.mark.parametrize("argv, message", [
    (["train", "-", "train.device=cuda", f"data.train.json={MISSING}/train.json", f"train.run_dir={MISSING}/run"],
     "train.device=cuda: this torch"),
    (["train", "-", "train.device=banana", f"data.train.json={MISSING}/train.json", f"train.run_dir={MISSING}/run"],
     "train.device: 'banana' is not a device name"),
    (["eval", "-", f"checkpoint={MISSING}/best.pt", f"data.val.json={MISSING}/val.json", "--device", "cuda"],
     "device=cuda: this torch"),
    (["eval", "-", f"checkpoint={MISSING}/best.pt", "train.device=banana"], "train.device: 'banana'"),
    (["predict", "-", f"checkpoint={MISSING}/best.pt", "--images", MISSING, "--whole-image", "--device", "cuda:0"],
     "device=cuda:0: this torch"),
    (["predict", "-", f"checkpoint={MISSING}/best.pt", "--video", f"{MISSING}.mp4", "--whole-image",
      "--device", "banana"], "device: 'banana' is not a device name"),
])
def test_every_command_refuses_the_device_before_reading_anything(cpu_only_torch, tmp_path, capsys, argv, message):
    config = tmp_path / "config.yaml"
    config.write_text("model: {name: tiny}\n")
    argv = [str(config) if part == "-" else part for part in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert MISSING not in err  # the device error came first: no data, checkpoint or run directory was touched
