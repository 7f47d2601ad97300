"""Runs the app as users do: a real SuperLink in simulation mode and `flwr run`.

The SuperLink is started on a free loopback port with its own FLWR_HOME, in
a neutral working directory, with runtime dependency installation off, and
is killed afterwards. `flwr run --stream` exits 0 even for failed runs, so
`run` polls `flwr list` and returns the final status.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from fssuavl_app.runs.presets import toml_value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSuperLink:
    def __init__(self, workdir: Path):
        self.workdir, self.port = Path(workdir), _free_port()
        self.home = self.workdir / "flwr-home"
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "config.toml").write_text(
            '[superlink]\ndefault = "test"\n\n[superlink.test]\n'
            f'address = "127.0.0.1:{self.port}"\ninsecure = true\n')
        self.env = {**os.environ, "FLWR_HOME": str(self.home), "FLWR_TELEMETRY_ENABLED": "0",
                    "FLWR_DISABLE_UPDATE_CHECK": "1", "RAY_DEDUP_LOGS": "0"}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "LocalSuperLink":
        self.proc = subprocess.Popen(
            ["flower-superlink", "--insecure", "--simulation", "--host", "127.0.0.1",
             "--port", str(self.port), "--disable-runtime-dependency-installation",
             "--log-file", str(self.workdir / "superlink.log")],
            cwd=self.workdir, env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("flower-superlink did not start within 60 s")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def _flwr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(["flwr", *args], cwd=self.workdir, env=self.env, text=True,
                              capture_output=True, timeout=timeout)

    def submit(self, app_dir: Path, run_config: dict[str, Any], num_supernodes: int) -> str:
        """Start a run and return its id at once."""
        overrides = " ".join(f"{k}={toml_value(v)}" for k, v in run_config.items())
        started = self._flwr("run", str(app_dir), "test", "--format", "json", "--run-config",
                             overrides, "--federation-config",
                             f"num-supernodes={num_supernodes} client-resources-num-cpus=1")
        if started.returncode != 0:
            raise RuntimeError(f"flwr run failed:\n{started.stdout}\n{started.stderr}")
        return str(json.loads(started.stdout)["run-id"])

    def wait(self, run_id: str, timeout: float = 600) -> tuple[str, str]:
        """Poll until the run finishes: (final status, ServerApp log)."""
        deadline, status = time.time() + timeout, "unknown"
        while time.time() < deadline:
            listed = self._flwr("list", "test", "--run-id", run_id, "--format", "json")
            if listed.returncode == 0:
                status = json.loads(listed.stdout)["runs"][0]["status"]
                if status.startswith("finished:"):
                    break
            time.sleep(2)
        logs = self._flwr("log", run_id, "test", "--show").stdout
        return status, logs

    def run(self, app_dir: Path, run_config: dict[str, Any], num_supernodes: int,
            timeout: float = 600) -> tuple[str, str]:
        """Submit a run, wait for it to finish; (final status, ServerApp log)."""
        return self.wait(self.submit(app_dir, run_config, num_supernodes), timeout)

    def kill(self) -> None:
        """Kill the SuperLink and everything it started (ServerApp, Ray) at once."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)
