"""`semipose weights list|fetch`: a real HTTP server on 127.0.0.1 serving a small weights file with
the right hash, a wrong hash, a truncated body and a 404; every config's `pretrained` file is listed."""
import hashlib
import http.server
import re
import threading
from pathlib import Path

import pytest
import torch
import yaml

from semipose.cli.main import main
from semipose.models import weight_zoo
from semipose.models.weight_zoo import WeightFile, WeightsError, fetch

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}  # path -> body; "/truncated.pth" sends half of what it announces

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # a truncated transfer: the connection ends after half of the promised bytes
        self.wfile.write(body[:len(body) // 2] if self.path.startswith("/truncated") else body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, file bytes, their sha256) of a loopback server with a small real state dict."""
    path = tmp_path_factory.mktemp("served") / "w.pth"
    torch.save({"conv1.weight": torch.arange(12.0).reshape(1, 3, 2, 2)}, path)
    body = path.read_bytes()
    _Handler.files = {"/w-good.pth": body, "/truncated.pth": body, "/not_weights.pth": b"plain text, not a zip"}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", body, hashlib.sha256(body).hexdigest()
    httpd.shutdown()


def _entry(url, sha256):
    return WeightFile("test", url, sha256, "1 kB", "a test file")


def test_fetch_with_the_right_hash_writes_a_loadable_file_once(server, tmp_path):
    base, body, sha256 = server
    target = fetch(_entry(f"{base}/w-good.pth", sha256), tmp_path)
    assert target == tmp_path / "w-good.pth" and target.read_bytes() == body
    assert torch.equal(torch.load(target, weights_only=True)["conv1.weight"], torch.arange(12.0).reshape(1, 3, 2, 2))
    _Handler.files.pop("/w-good.pth")  # already there with the right hash: no second download
    try:
        assert fetch(_entry(f"{base}/w-good.pth", sha256[:8]), tmp_path) == target
    finally:
        _Handler.files["/w-good.pth"] = body


@pytest.mark.parametrize("path, sha, message", [
    ("/w-good.pth", "0" * 64, "does not match sha256"),
    ("/truncated.pth", None, "download failed|could not download|does not match"),
    ("/missing.pth", None, "could not download .*Offline\\?"),
])
def test_a_failed_fetch_leaves_nothing_behind(server, tmp_path, path, sha, message):
    base, _, sha256 = server
    with pytest.raises(WeightsError, match=message):
        fetch(_entry(base + path, sha or sha256), tmp_path)
    assert list(tmp_path.iterdir()) == []  # no target, no .partial


def test_a_file_that_is_not_a_weights_checkpoint_is_removed(server, tmp_path):
    base, _, _ = server
    sha256 = hashlib.sha256(_Handler.files["/not_weights.pth"]).hexdigest()
    with pytest.raises(WeightsError, match="not a weights-only checkpoint"):
        fetch(_entry(f"{base}/not_weights.pth", sha256), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_offline_message_names_where_to_put_the_file(tmp_path):
    entry = _entry("http://127.0.0.1:9/none.pth", "ab" * 32)  # the discard port: connection refused
    with pytest.raises(WeightsError, match=re.escape(str(tmp_path / "none.pth"))):
        fetch(entry, tmp_path)


def test_cli_fetch_and_list(server, tmp_path, monkeypatch, capsys):
    base, body, sha256 = server
    monkeypatch.setitem(weight_zoo.WEIGHTS, "test", _entry(f"{base}/w-good.pth", sha256))
    assert main(["weights", "fetch", "test", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "w-good.pth").read_bytes() == body
    assert main(["weights", "fetch", "test", "nope", "--dir", str(tmp_path / "other")]) == 2
    assert "unknown weight file 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()  # names are checked before anything is downloaded
    assert main(["weights", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in weight_zoo.WEIGHTS)


def _pretrained_paths():
    for path in sorted(CONFIGS.rglob("*.yaml")):
        text = yaml.safe_load(path.read_text()) or {}
        for model in (text.get("model") or {}, (text.get("method") or {}).get("second_model") or {}):
            if model.get("pretrained"):
                yield path.name, model["pretrained"]


def test_every_pretrained_file_a_config_names_is_in_the_table():
    files = {f"{weight_zoo.DEFAULT_DIR}/{entry.file_name}" for entry in weight_zoo.WEIGHTS.values()}
    named = list(_pretrained_paths())
    assert len(named) >= 5
    assert [(config, path) for config, path in named if path not in files] == []
    for entry in weight_zoo.WEIGHTS.values():  # the published prefix in the file name is the hash's
        assert entry.file_name.split("-")[-1].split(".")[0] == entry.sha256[:8]
