"""A federation that survives faults: failing and hanging clients, broken updates, a killed server,
and a reply that carries nothing but weights and scalar metrics."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch
from flwr.app import ArrayRecord, Context, Message, RecordDict

from fssuavl_app.core.models import build_model
from fssuavl_app.runs.checkpoint import list_checkpoints, load_checkpoint
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.rundir import read_metrics

from .flower_harness import LocalSuperLink
from .tiny import TINY

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[1]


def test_failed_hanging_and_broken_clients_do_not_stop_the_run(tmp_path):
    faults = "raise:0@1,oom:1@1,nan:2@1,shape:3@1,zero-examples:0@2,hang:1@2"
    config = {**TINY, "output-dir": str(tmp_path / "runs"), "run-name": "faulty",
              "fraction-train": 1.0, "fault-injection": faults, "round-timeout": 20.0}
    with LocalSuperLink(tmp_path / "link") as link:
        status, logs = link.run(APP, config, 4)
    assert status == "finished:completed", logs[-3000:]
    run = tmp_path / "runs" / "faulty"
    metrics = {m["round"]: m for m in read_metrics(run)}
    # round 1: two clients failed (raise, oom), two updates rejected (nan, shape): model kept
    assert (metrics[1]["num-failed"], metrics[1]["num-rejected"], metrics[1]["aggregated"]) == \
        (2, 2, 0)
    assert metrics[1]["failed-clients"] == [0, 1] and metrics[1]["rejected-clients"] == [2, 3]
    # round 2: client 1 hangs past the timeout, client 0 reports zero examples; 2 and 3 count
    assert (metrics[2]["num-failed"], metrics[2]["num-rejected"], metrics[2]["aggregated"]) == \
        (1, 1, 1)
    assert metrics[2]["clients"] == 2
    w = {r: load_checkpoint(p).state_dict for r, p in list_checkpoints(run)}
    assert all(torch.equal(w[0][k], w[1][k]) for k in w[0])  # nothing aggregated in round 1
    assert all(torch.isfinite(v.float()).all() for v in w[2].values())
    assert not torch.equal(w[1]["encoder.conv1.weight"], w[2]["encoder.conv1.weight"])
    for text in ("client 0 failed: ", "injected fault: the client raised", "client 1 failed",
                 "out of memory", "update of client 2 rejected", "NaN or infinite",
                 "update of client 3 rejected", "has shape", "client 1 did not answer in time",
                 "num-examples is 0", "fewer than min-train-replies=1; the global model is kept"):
        assert text in logs, text


def test_a_run_in_which_no_round_aggregated_ends_as_failed(tmp_path):
    config = {**TINY, "output-dir": str(tmp_path / "runs"), "run-name": "never",
              "num-server-rounds": 1, "fraction-train": 1.0,
              "fault-injection": "raise:0,raise:1,raise:2,raise:3"}
    with LocalSuperLink(tmp_path / "link") as link:
        status, logs = link.run(APP, config, 4)
    assert status == "finished:failed", logs[-2000:]
    assert "none of the 1 rounds aggregated an update" in logs


def test_server_killed_mid_run_resumes_to_the_same_weights(tmp_path, straight_run):
    runs = tmp_path / "runs"
    config = {**TINY, "output-dir": str(runs), "num-server-rounds": 3}
    with LocalSuperLink(tmp_path / "link-a") as link:
        link.submit(APP, {**config, "run-name": "killed"}, 4)
        deadline = time.time() + 300
        while not (runs / "killed" / "round-0001.json").exists() and time.time() < deadline:
            time.sleep(0.5)
        link.kill()  # the SuperLink, its ServerApp and the simulation: no clean shutdown
    done = [r for r, _ in list_checkpoints(runs / "killed")]
    assert 1 in done and 3 not in done, done
    with LocalSuperLink(tmp_path / "link-b") as link:
        status, logs = link.run(APP, {**config, "resume": str(runs / "killed")}, 4)
    assert status == "finished:completed", logs[-2000:]
    assert "resuming after round" in logs
    killed = load_checkpoint(runs / "killed" / "round-0003.json").state_dict
    straight = load_checkpoint(straight_run[0] / "round-0003.json").state_dict
    for key, value in straight.items():
        torch.testing.assert_close(killed[key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert [m["round"] for m in read_metrics(runs / "killed")] == [0, 1, 2, 3]



def test_a_reply_carries_only_weights_and_scalar_metrics(task_identity, tmp_path):
    from fssuavl_app.client_app import train
    from fssuavl_app.fl.server import round_settings

    cfg = RunConfig.from_run_config(TINY)
    model = build_model(cfg.model_args())
    config = round_settings(cfg, cfg.input_spec(), 1).to_record()
    msg = Message(content=RecordDict({"arrays": ArrayRecord(model.state_dict()),
                                      "config": config}),
                  dst_node_id=2, message_type="train")
    ctx = Context(run_id=1, node_id=2, node_config={"partition-id": 0, "num-partitions": 4},
                  state=RecordDict(), run_config=dict(TINY))
    reply = train(msg, ctx)
    content = reply.content
    assert set(content.keys()) == {"arrays", "metrics"}
    assert not content.config_records
    arrays = content["arrays"]
    assert set(arrays.keys()) == set(model.state_dict())
    for key, value in model.state_dict().items():
        assert tuple(arrays[key].numpy().shape) == tuple(value.shape), key
    metrics = dict(content["metrics"])
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in metrics.values())
    assert set(metrics) == {"num-examples", "partition-id", "train-seconds", "steps",
                            "num-skipped", "num-image", "num-audio", "loss-image", "loss-audio",
                            "peak-mem-mb"}
    # nothing else rides along: no samples, embeddings or file paths
    assert not any(isinstance(v, str) for v in metrics.values())
