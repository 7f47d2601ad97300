"""FedAvg with seeded client sampling by partition id, global round numbers,
per-modality metric averaging, and a round that survives faulty clients.

Before aggregation every reply is checked: a client that failed (raised, ran
out of memory, did not answer within `round-timeout`) or whose update is
broken (NaN/Inf weights, a missing or wrong-shaped array, `num-examples` <= 0)
is left out and logged with its partition id and the reason; the counts go
into the round's metrics. With fewer than `min-train-replies` usable replies
the global model is kept as it was.

Flower's FedAvg samples node ids with an unseeded `random.sample`, and node ids
are random per run; here the server learns each node's partition id once
(`discover_partitions`) and samples partition ids from (seed, round), so a
run and its resumption pick the same clients. Replies are aggregated in
partition order so the floating-point sum does not depend on arrival order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from logging import INFO, WARNING

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.common import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from ..core.modalities import MODALITIES

QUERY_DESCRIBE = "query"


def discover_partitions(grid: Grid, timeout: float = 600.0) -> dict[int, int]:
    """Ask every connected node for its partition id: {partition id: node id}."""
    node_ids = sorted(grid.get_node_ids())
    messages = [Message(content=RecordDict({"config": ConfigRecord({})}),
                        message_type=QUERY_DESCRIBE, dst_node_id=n) for n in node_ids]
    found: dict[int, int] = {}
    for reply in grid.send_and_receive(messages, timeout=timeout):
        if reply.has_error():
            log(WARNING, "node %s did not describe itself: %s", reply.metadata.src_node_id,
                reply.error.reason)
            continue
        pid = int(reply.content["metrics"]["partition-id"])
        if pid in found:
            raise RuntimeError(f"two nodes claim partition {pid}: check their node config")
        found[pid] = reply.metadata.src_node_id
    if not found:
        raise RuntimeError("no node answered; is the federation running?")
    return found


def sample_partitions(partition_ids: Iterable[int], fraction: float, seed: int,
                      global_round: int) -> list[int]:
    """max(1, floor(K * fraction)) partition ids, drawn from (seed, round), sorted."""
    ids = sorted(partition_ids)
    size = max(1, int(len(ids) * fraction + 1e-9))
    rng = np.random.default_rng([seed, 303, global_round])
    return sorted(int(i) for i in rng.choice(ids, size=size, replace=False))


def aggregate_train_metrics(records: list[RecordDict], weighted_by_key: str) -> MetricRecord:
    """Sums of counts; per-modality losses weighted by that modality's count; max seconds."""
    metrics = [next(iter(r.metric_records.values())) for r in records]
    out = {weighted_by_key: int(sum(m[weighted_by_key] for m in metrics))}
    for mod in MODALITIES:
        num, loss = mod.metric("num"), mod.metric("loss")
        n = sum(m[num] for m in metrics)
        out[num] = int(n)
        out[loss] = sum(m[loss] * m[num] for m in metrics) / n if n else 0.0
    out["clients"] = len(metrics)
    out["num-skipped"] = int(sum(m.get("num-skipped", 0) for m in metrics))
    out["client-seconds-sum"] = float(sum(m["train-seconds"] for m in metrics))
    out["client-seconds-max"] = float(max(m["train-seconds"] for m in metrics))
    out["peak-mem-mb-max"] = float(max(m.get("peak-mem-mb", 0.0) for m in metrics))
    return MetricRecord(out)


def update_problem(content: RecordDict, reference: dict[str, tuple[int, ...]],
                   weighted_by_key: str) -> str | None:
    """Why a reply's update cannot be aggregated, or None when it can.

    `reference` maps every array key of the global model to its shape.
    """
    metrics = list(content.metric_records.values())
    arrays = list(content.array_records.values())
    if len(metrics) != 1 or len(arrays) != 1:
        return "expected one ArrayRecord and one MetricRecord"
    n = metrics[0].get(weighted_by_key)
    if not isinstance(n, (int, float)) or not n > 0:
        return f"{weighted_by_key} is {n!r}; it must be > 0"
    record = arrays[0]
    if set(record.keys()) != set(reference):
        missing, extra = set(reference) - set(record.keys()), set(record.keys()) - set(reference)
        return f"array keys differ from the model's (missing {sorted(missing)[:3]}, " \
               f"unexpected {sorted(extra)[:3]})"
    for key, shape in reference.items():
        value = record[key].numpy()
        if tuple(value.shape) != shape:
            return f"{key} has shape {tuple(value.shape)}, expected {shape}"
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return f"{key} holds NaN or infinite values"
    return None


class FssuavlFedAvg(FedAvg):
    """FedAvg that samples partitions, sends each round's settings, remembers metrics.

    `round_config(global_round)` gives the ConfigRecord of a round's train
    messages (`messages.RoundSettings`); rounds are numbered globally, counting
    the `round_offset` rounds of the run this one resumes.
    """

    def __init__(self, *, partitions: dict[int, int], seed: int, round_offset: int,
                 fraction_train: float, round_config: Callable[[int], ConfigRecord],
                 min_train_replies: int = 1):
        super().__init__(fraction_train=fraction_train, fraction_evaluate=0.0,
                         min_train_nodes=1, min_available_nodes=1,
                         train_metrics_aggr_fn=aggregate_train_metrics)
        self.partitions, self.seed, self.round_offset = partitions, seed, round_offset
        self.round_config = round_config
        self.min_train_replies = min_train_replies
        self.reference: dict[str, tuple[int, ...]] = {}
        self.node_to_partition = {n: p for p, n in partitions.items()}
        self.train_metrics: dict[int, dict] = {}
        self.sampled: dict[int, list[int]] = {}

    def global_round(self, server_round: int) -> int:
        """This run's round `server_round` (0 = the starting weights) counted over resumes."""
        return self.round_offset + server_round

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        global_round = self.global_round(server_round)
        chosen = sample_partitions(self.partitions, self.fraction_train, self.seed, global_round)
        self.sampled[global_round] = chosen
        self.reference = {k: tuple(v.shape) for k, v in arrays.items()}
        log(INFO, "round %d: training clients %s", global_round, chosen)
        round_config = ConfigRecord({**dict(config), **dict(self.round_config(global_round))})
        record = RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: round_config})
        return self._construct_messages(record, [self.partitions[p] for p in chosen], "train")

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        global_round = self.global_round(server_round)
        ordered = sorted(replies, key=lambda m: self.node_to_partition.get(
            m.metadata.src_node_id, 1 << 62))
        usable, failed, rejected = [], [], []
        for msg in ordered:
            pid = self.node_to_partition.get(msg.metadata.src_node_id, -1)
            if msg.has_error():
                failed.append(pid)
                log(WARNING, "round %d: client %d failed: %s", global_round, pid,
                    msg.error.reason.strip().splitlines()[-1][:300] if msg.error.reason else
                    f"error code {msg.error.code}")
            elif (problem := update_problem(msg.content, self.reference,
                                            self.weighted_by_key)) is not None:
                rejected.append(pid)
                log(WARNING, "round %d: update of client %d rejected: %s", global_round, pid,
                    problem)
            else:
                usable.append(msg)
        answered = {self.node_to_partition.get(m.metadata.src_node_id) for m in ordered}
        silent = [p for p in self.sampled.get(global_round, []) if p not in answered]
        for pid in silent:
            log(WARNING, "round %d: client %d did not answer in time", global_round, pid)
        faults = {"num-failed": len(failed) + len(silent), "num-rejected": len(rejected),
                  "failed-clients": sorted(failed + silent), "rejected-clients": rejected}
        if len(usable) < self.min_train_replies:
            log(WARNING, "round %d: %d usable replies, fewer than min-train-replies=%d; the "
                "global model is kept", global_round, len(usable), self.min_train_replies)
            self.train_metrics[global_round] = {**faults, "clients": len(usable),
                                                "aggregated": 0}
            return None, None
        arrays, metrics = super().aggregate_train(server_round, usable)
        if metrics is not None:
            self.train_metrics[global_round] = {**dict(metrics), **faults, "aggregated": 1}
        return arrays, metrics
