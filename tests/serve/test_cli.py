"""`flame serve` as a process: it starts, answers on loopback, logs JSON lines, and stops on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx

RUN = (
    "import argparse, sys\n"
    "from flame.errors import run_command\n"
    "from flame.serve import cli\n"
    "p = argparse.ArgumentParser(prog='flame')\n"
    "cli.register(p.add_subparsers(dest='command', required=True))\n"
    "a = p.parse_args(sys.argv[1:])\n"
    "sys.exit(run_command(a.func, a))\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_flame_serve_process(tmp_path):
    port = free_port()
    env = {**os.environ, "FLAME_API_KEYS": "k1"}
    args = ["serve", "--rater", "fake", "--port", str(port), "--cache", str(tmp_path / "j.sqlite")]
    proc = subprocess.Popen([sys.executable, "-c", RUN, *args], env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "flame serve did not start"
            time.sleep(0.1)
        item = {"type": "pairwise", "prompt": "p", "response_a": "a", "response_b": "b"}
        assert httpx.post(f"{url}/v1/judge", json=item).status_code == 401
        r = httpx.post(f"{url}/v1/judge", json=item, headers={"Authorization": "Bearer k1"})
        assert r.status_code == 200 and r.json()["prediction"] in ("A", "B")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "API keys required" in err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert {"started", "request"} <= {e["event"] for e in events}
    assert next(e for e in events if e["event"] == "started")["cache"] == str(tmp_path / "j.sqlite")
