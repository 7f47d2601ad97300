"""A real, secured deployment on loopback: SuperLink + SuperNodes as separate processes.

TLS with a CA from `scripts/make_test_certs.sh`, SuperNode authentication with
registered keys, two SuperNodes that train on the shards `fssuavl-partition`
wrote (`--node-config data-path=...`), and `flwr run` against the SuperLink.
A third SuperNode whose key is not registered must be refused.

Every process gets its own FLWR_HOME and working directory, logs to a file
under tmp (tails end up in assertion messages), and is killed with its
descendants when the module's tests end, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from fssuavl_app.runs.presets import toml_value
from fssuavl_app.runs.rundir import read_metrics

from .flower_harness import _free_port
from .tiny import TINY

pytestmark = pytest.mark.e2e

APP = Path(__file__).resolve().parents[1]
CERT_SCRIPT = APP / "scripts" / "make_test_certs.sh"
CONNECTION = "secure"
NUM_NODES = 2
RUN_NAME = "deployed"
RUN_TIMEOUT = 900  # seconds; about 60-190 s on a 2-core machine, depending on load


def _overrides(config: dict) -> str:
    return " ".join(f"{k}={toml_value(v)}" for k, v in config.items())


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(stat.parent.name))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal(pid: int, sig: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig) if group else os.kill(pid, sig)


def _tail(path: Path, chars: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return f"--- {path.name} (last {chars} chars) ---\n{text[-chars:]}"


class Proc:
    """A background process in its own session, stdout+stderr to `<logs>/<name>.log`.

    Leaving the context kills its process group and every descendant (Flower's
    SuperExec runs in a session of its own, so the group alone is not enough).
    """

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict, logs: Path):
        self.name, self.args, self.cwd, self.env = name, args, cwd, env
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Proc":
        self.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None:
            return
        family = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            _signal(self.proc.pid, signal.SIGTERM, group=True)
        for pid in family:
            _signal(pid, signal.SIGTERM, group=False)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        _signal(self.proc.pid, signal.SIGKILL, group=True)
        for pid in family:
            _signal(pid, signal.SIGKILL, group=False)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 4000) -> str:
        return _tail(self.log, chars)


class Deployment:
    """Certificates, a TLS SuperLink with SuperNode auth, and the `flwr` CLI's connection."""

    def __init__(self, tmp: Path, stack: contextlib.ExitStack):
        self.tmp, self.stack = tmp, stack
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.certs = tmp / "certs"
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.base_env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0",
                         "FLWR_DISABLE_UPDATE_CHECK": "1", "PYTHONUNBUFFERED": "1"}
        self.cli_home = tmp / "cli-home"
        self.cli_home.mkdir()
        (self.cli_home / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            f'address = "{self.address}"\n'
            f'root-certificates = {toml_value(str(self.certs / "ca.crt"))}\n')
        self.procs: list[Proc] = []
        self.shards: list[Path] = []
        self.node_ids: list[str] = []
        self.supernodes: list[Proc] = []

    def env(self, home: Path) -> dict:
        home.mkdir(parents=True, exist_ok=True)
        return {**self.base_env, "FLWR_HOME": str(home)}

    def diagnostics(self) -> str:
        return "\n".join(p.tail() for p in self.procs)

    def start(self, name: str, args: list[str], env: dict | None = None) -> Proc:
        proc = self.stack.enter_context(Proc(
            name, args, self.tmp / f"work-{name}",
            env or self.env(self.tmp / f"home-{name}"), self.logs))
        self.procs.append(proc)
        return proc

    def flwr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        work = self.tmp / "work-cli"
        work.mkdir(exist_ok=True)
        return subprocess.run(["flwr", *args], cwd=work, env=self.env(self.cli_home), text=True,
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def flwr_json(self, *args: str, timeout: float = 120) -> dict:
        done = self.flwr(*args, "--format", "json", timeout=timeout)
        assert done.returncode == 0, (f"flwr {' '.join(args)} failed:\n{done.stdout}\n"
                                      f"{done.stderr}\n{self.diagnostics()}")
        return json.loads(done.stdout)

    def make_certs(self, num_keys: int) -> None:
        done = subprocess.run(["bash", str(CERT_SCRIPT), str(self.certs), str(num_keys)],
                              text=True, capture_output=True, timeout=120)
        assert done.returncode == 0, f"{CERT_SCRIPT.name} failed:\n{done.stdout}\n{done.stderr}"

    def start_superlink(self) -> Proc:
        link = self.start("superlink", [
            "flower-superlink", "--ssl-ca-certfile", str(self.certs / "ca.crt"),
            "--ssl-certfile", str(self.certs / "server.pem"),
            "--ssl-keyfile", str(self.certs / "server.key"), "--enable-supernode-auth",
            "--host", "127.0.0.1", "--port", str(self.port), "--database", ":flwr-in-memory:",
            "--disable-runtime-dependency-installation"])
        deadline = time.time() + 90
        while time.time() < deadline:
            assert link.proc.poll() is None, f"flower-superlink exited\n{link.tail()}"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return link
            time.sleep(0.5)
        raise AssertionError(f"flower-superlink did not listen within 90 s\n{link.tail()}")

    def register(self, public_key: Path) -> str:
        return str(self.flwr_json("supernode", "register", str(public_key), CONNECTION)["node-id"])

    def start_supernode(self, name: str, key: Path, shard: Path) -> Proc:
        return self.start(name, [
            "flower-supernode", "--root-certificates", str(self.certs / "ca.crt"),
            "--superlink", self.address, "--auth-supernode-private-key", str(key),
            "--port", str(_free_port()), "--node-config", f"data-path={toml_value(str(shard))}"],
            # two ClientApps and the ServerApp share the CPU cores: one torch thread each
            env={**self.env(self.tmp / f"home-{name}"), "OMP_NUM_THREADS": "1"})

    def nodes(self) -> dict[str, str]:
        """Node id -> status, as `flwr supernode list` reports them."""
        listed = self.flwr_json("supernode", "list", CONNECTION)
        return {str(n["node-id"]): n["status"] for n in listed["nodes"]}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deployment")
    with contextlib.ExitStack() as stack:
        dep = Deployment(tmp, stack)
        dep.make_certs(NUM_NODES + 1)
        shards = tmp / "shards"
        done = subprocess.run(
            ["fssuavl-partition", "--num-clients", str(NUM_NODES), "--out", str(shards),
             "--app", str(APP), "--run-config", _overrides(TINY)],
            cwd=tmp, text=True, capture_output=True, timeout=300)
        assert done.returncode == 0, f"fssuavl-partition failed:\n{done.stdout}\n{done.stderr}"
        dep.shards = sorted(shards.glob("client-*.json"))
        assert len(dep.shards) == NUM_NODES, done.stdout

        dep.start_superlink()
        dep.node_ids = [dep.register(dep.certs / "keys" / f"node{k + 1}.pub")
                        for k in range(NUM_NODES)]
        dep.supernodes = [dep.start_supernode(f"supernode{k + 1}",
                                              dep.certs / "keys" / f"node{k + 1}", shard)
                          for k, shard in enumerate(dep.shards)]
        deadline = time.time() + 120
        while time.time() < deadline:
            nodes = dep.nodes()
            if all(nodes.get(i) == "online" for i in dep.node_ids):
                break
            for node in dep.supernodes:
                assert node.proc.poll() is None, f"{node.name} exited\n{dep.diagnostics()}"
            time.sleep(1)
        else:
            raise AssertionError(f"SuperNodes not online within 120 s: {nodes}\n"
                                 f"{dep.diagnostics()}")
        yield dep


def test_unregistered_supernode_is_refused(deployment):
    dep = deployment
    assert (dep.certs / "keys" / "node3.pub").exists()
    intruder = dep.start_supernode("supernode3-unregistered", dep.certs / "keys" / "node3",
                                   dep.shards[0])
    try:
        returncode = intruder.proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        raise AssertionError("a SuperNode with an unregistered key was still running after "
                             f"90 s\n{dep.diagnostics()}") from None
    log = intruder.log.read_text(errors="replace")
    assert returncode != 0, intruder.tail()
    assert "Failed to activate SuperNode" in log, intruder.tail()
    # the SuperLink knows only the two registered nodes, both still online
    assert dep.nodes() == {i: "online" for i in dep.node_ids}, dep.diagnostics()
    assert "No SuperNode found with the given public key" in dep.procs[0].log.read_text(
        errors="replace"), dep.procs[0].tail()


def test_two_rounds_on_authenticated_supernodes(deployment):
    dep = deployment
    runs = dep.tmp / "runs"
    config = {**TINY, "num-server-rounds": 2, "output-dir": str(runs), "run-name": RUN_NAME,
              "fraction-train": 1.0}
    started = dep.flwr_json("run", str(APP), CONNECTION, "--run-config", _overrides(config),
                            timeout=300)
    run_id = str(started["run-id"])
    deadline, status = time.time() + RUN_TIMEOUT, "unknown"
    while time.time() < deadline:
        listed = dep.flwr("list", CONNECTION, "--run-id", run_id, "--format", "json")
        if listed.returncode == 0:
            status = json.loads(listed.stdout)["runs"][0]["status"]
            if status.startswith("finished:"):
                break
        time.sleep(2)
    logs = dep.flwr("log", run_id, CONNECTION, "--show").stdout
    context = f"ServerApp log:\n{logs[-4000:]}\n{dep.diagnostics()}"
    assert status == "finished:completed", context

    run_dir = runs / RUN_NAME
    for name in ("round-0001.json", "round-0002.json"):
        assert (run_dir / name).exists(), f"{run_dir / name} missing\n{context}"
    metrics = read_metrics(run_dir)
    assert [m["round"] for m in metrics] == [0, 1, 2], context
    assert all(m["clients"] == NUM_NODES for m in metrics[1:]), metrics
    assert all(sorted(m["clients-trained"]) == [0, 1] for m in metrics[1:]), metrics
    assert f"Run directory: {run_dir}" in logs and "Partition: 2 clients" in logs, context
    # each SuperNode trained its own shard (partition id from its manifest)
    for pid, node in enumerate(dep.supernodes):
        assert f"round 2 client {pid} " in node.log.read_text(errors="replace"), node.tail()
