"""The worker runtime: built once per worker process and run, reused by every client call;
clients train with the settings the server sends, not with their own run config."""

from __future__ import annotations

import dataclasses

import pytest
from flwr.app import ArrayRecord, Context, Message, RecordDict

from fssuavl_app import client_app
from fssuavl_app.core.models import build_model
from fssuavl_app.fl import runtime as runtime_module
from fssuavl_app.fl.messages import RoundSettings
from fssuavl_app.fl.runtime import RuntimeHolder
from fssuavl_app.fl.server import round_settings
from fssuavl_app.runs.config import RunConfig

from .tiny import TINY

pytestmark = pytest.mark.integration



def _message(settings: RoundSettings) -> Message:
    model = build_model(settings.model)
    return Message(content=RecordDict({"arrays": ArrayRecord(model.state_dict()),
                                       "config": settings.to_record()}),
                   dst_node_id=2, message_type="train")


def _context(run_id: int, pid: int) -> Context:
    return Context(run_id=run_id, node_id=10 + pid, state=RecordDict(), run_config=dict(TINY),
                   node_config={"partition-id": pid, "num-partitions": 4})


def test_sources_and_partition_are_built_once_per_run(task_identity, monkeypatch):
    calls = {"open": 0, "partition": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(runtime_module, "open_run_sources",
                        counted("open", runtime_module.open_run_sources))
    monkeypatch.setattr(runtime_module, "partition_for",
                        counted("partition", runtime_module.partition_for))
    holder = RuntimeHolder()
    monkeypatch.setattr(client_app, "RUNTIMES", holder)
    cfg = RunConfig.from_run_config(TINY)
    for global_round in (1, 2):
        for pid in (0, 1):
            msg = _message(round_settings(cfg, cfg.input_spec(), global_round))
            reply = client_app.train(msg, _context(run_id=7, pid=pid))
            assert reply.content["metrics"]["partition-id"] == pid
    assert calls == {"open": 1, "partition": 1}
    run_config = round_settings(cfg, cfg.input_spec(), 1).run_config
    first = holder.get(_context(7, 0), run_config)
    assert first.model(cfg.model_args()) is first.model(cfg.model_args())
    assert holder.get(_context(8, 0), run_config) is not first  # a new run, a new runtime


def test_clients_train_with_the_settings_they_are_sent(task_identity, monkeypatch):
    monkeypatch.setattr(client_app, "RUNTIMES", RuntimeHolder())
    cfg = RunConfig.from_run_config(TINY)  # local-epochs 1 in the client's own run config
    sent = round_settings(cfg, cfg.input_spec(), 1)
    steps = {}
    for epochs in (1, 3):
        settings = dataclasses.replace(sent, train=dataclasses.replace(sent.train, epochs=epochs))
        reply = client_app.train(_message(settings), _context(run_id=3, pid=0))
        steps[epochs] = reply.content["metrics"]["steps"]
    assert steps[3] == 3 * steps[1] > 0


def test_round_settings_survive_the_config_record():
    cfg = RunConfig.from_run_config({**TINY, "loss": "barlow-twins", "loss-options": "lambda=0.01",
                                     "lr-schedule": "cosine"})
    settings = round_settings(cfg, cfg.input_spec(), 2)
    assert RoundSettings.from_record(settings.to_record()) == settings
    assert settings.train.lr < cfg.lr and dict(settings.train.loss_options) == {"lambda": 0.01}
    record = dict(settings.to_record())
    del record["train.lr"]
    with pytest.raises(ValueError, match="lacks 'train.lr'"):
        RoundSettings.from_record(record)
