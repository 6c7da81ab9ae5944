"""``gankit serve``: arguments, the binding warning, the API key from the environment, and one real
server process on 127.0.0.1 that serves, then drains and exits on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import uvicorn

from gankit.cli import main


@pytest.fixture()
def no_run(monkeypatch):
    """uvicorn's Server.run replaced: the command is checked without binding a port."""
    seen: dict = {}

    def fake_run(self, sockets=None):  # noqa: ANN001, ANN202
        seen.update(host=self.config.host, port=self.config.port, app=self.config.app)

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    return seen


def test_defaults_bind_loopback_without_warning(gan_run, no_run, capsys):
    assert main(["serve", str(gan_run)]) == 0
    err = capsys.readouterr().err
    assert no_run["host"] == "127.0.0.1" and no_run["port"] == 8000 and "warning" not in err
    st = no_run["app"].state.gankit
    assert (st.settings.max_batch, st.settings.max_delay_ms, st.settings.max_n, st.settings.timeout_s) == (64, 5.0, 64, 30.0)
    assert st.backend.name == "torch" and "serving gan (torch" in err


def test_public_host_without_key_warns(gan_run, no_run, capsys):
    assert main(["serve", str(gan_run), "--host", "0.0.0.0", "--port", "9001", "--max-batch", "1", "--max-n", "8"]) == 0
    err = capsys.readouterr().err
    assert "warning: serving on 0.0.0.0 without an API key" in err
    assert no_run["port"] == 9001 and no_run["app"].state.gankit.settings.max_batch == 1


def test_api_key_comes_from_the_environment(gan_run, no_run, capsys, monkeypatch):
    monkeypatch.setenv("GANKIT_KEY_T", "0123456789abcdef")
    assert main(["serve", str(gan_run), "--host", "0.0.0.0", "--api-key-env", "GANKIT_KEY_T"]) == 0
    assert "warning" not in capsys.readouterr().err and no_run["app"].state.gankit.settings.api_key == "0123456789abcdef"
    monkeypatch.delenv("GANKIT_KEY_T")
    assert main(["serve", str(gan_run), "--api-key-env", "GANKIT_KEY_T"]) == 2
    assert "GANKIT_KEY_T is unset or empty" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], "must be from 0 to 65,535"),
    (["--max-batch", "0"], "must be from 1 to 4,096"),
    (["--backend", "tensorrt"], "invalid choice"),
    (["--timeout-s", "0"], "finite number in (0"),
])  # fmt: skip
def test_bad_arguments_exit_2(gan_run, capsys, args, words):
    with pytest.raises(SystemExit) as e:
        main(["serve", str(gan_run), *args])
    assert e.value.code == 2 and words in capsys.readouterr().err


def test_a_queue_smaller_than_a_request_is_a_user_error(gan_run, no_run, capsys):
    assert main(["serve", str(gan_run), "--max-queue", "10"]) == 2
    assert "--max-queue 10" in capsys.readouterr().err


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_real_server_process_serves_then_drains_on_sigterm(gan_run, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gankit.cli", "serve", str(gan_run), "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # fmt: skip
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        req = urllib.request.Request(f"{base}/v1/generate", data=json.dumps({"n": 4, "seed": 3}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200 and r.headers["X-Seed"] == "3" and r.read()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"gankit_batch_size_count 1.0" in _get(f"{base}/metrics")[1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode()
    assert f"on http://127.0.0.1:{port}" in err and "Traceback" not in err
