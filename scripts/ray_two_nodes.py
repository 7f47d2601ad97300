"""The README's multi-machine path, proven on one machine: a simulation joins an existing
two-node Ray cluster with RAY_ADDRESS, and clients run on both nodes.

    python scripts/ray_two_nodes.py [WORKDIR]

Starts a Ray head node and a second node (`ray start --head`, then `ray start
--address=...`; each a raylet of its own with 1 CPU, on loopback), starts a
local SuperLink in simulation mode with RAY_ADDRESS=auto (the README's way: Ray
finds the cluster started on this machine),
runs 2 rounds of 4 tiny clients (every client every round), and prints the
run's status, the Ray nodes and which Ray node each client's training ran on
(from the ClientApp's log line "... on cpu, ray node XXXXXXXX"). Exit code 0
when the run completed and clients ran on both nodes. Stops the cluster and
the SuperLink at the end, whatever happened (`ray stop --force`: it stops every
Ray process of this machine, so run it where no other Ray cluster is in use).
About 1 minute on 2 cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

APP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(APP))

from tests.flower_harness import LocalSuperLink, _free_port  # noqa: E402
from tests.tiny import TINY  # noqa: E402


def ray(*args: str, env: dict) -> None:
    done = subprocess.run(["ray", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ray {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="ray2-"))
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    try:
        ray("start", "--head", f"--port={port}", "--include-dashboard=false", *common, env=env)
        ray("start", f"--address=127.0.0.1:{port}", *common, env=env)
        import ray as ray_api

        ray_api.init(address=f"127.0.0.1:{port}", logging_level="ERROR")
        nodes = sorted(n["NodeID"][:8] for n in ray_api.nodes() if n["Alive"])
        ray_api.shutdown()
        print(f"Ray cluster at 127.0.0.1:{port}: {len(nodes)} nodes {nodes}")
        os.environ["RAY_ADDRESS"] = "auto"  # as the README says: join the cluster started here
        try:
            with LocalSuperLink(work / "link") as link:
                status, logs = link.run(APP, {**TINY, "fraction-train": 1.0,
                                              "output-dir": str(work / "runs"),
                                              "run-name": "two-nodes"}, 4, timeout=900)
        finally:
            del os.environ["RAY_ADDRESS"]
    finally:
        subprocess.run(["ray", "stop", "--force"], env=env, capture_output=True)
    # Each ClientApp line reaches the log twice (its process and Ray's log forwarding): keep one.
    placed = list(dict.fromkeys(re.findall(r"round (\d+) client (\d+) .* ray node ([0-9a-f]{8})",
                                           logs)))
    for rnd, client, node in placed:
        print(f"round {rnd} client {client}: ray node {node}")
    used = sorted({node for _, _, node in placed})
    print(f"run status: {status}; clients ran on {len(used)} of {len(nodes)} nodes: {used}")
    if status != "finished:completed":
        print(logs[-3000:])
    return 0 if status == "finished:completed" and len(used) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
