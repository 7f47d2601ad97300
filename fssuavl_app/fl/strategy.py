"""FedAvg (or a robust aggregator) with seeded client sampling by partition id, global round
numbers, per-modality metrics, and rounds that survive faulty or lying clients.

Before aggregation every reply is checked (`replies.reply_problem`): a client
that failed (raised, ran out of memory, did not answer within
`round-timeout`) or whose reply is wrong (metric keys or types, counts that
do not add up or exceed what the client holds, a partition id that is not
its own, NaN/Inf weights, a missing or wrong-shaped array) is left out and
logged with its partition id and the reason; the counts go into the round's
metrics. No single reply can fail the run. With fewer than
`min-train-replies` usable replies the global model is kept as it was; more
than `max-skipped-rounds` such rounds in a row end the run as failed.

The usable replies are aggregated by Flower's own strategies, chosen by
`aggregation`: FedAvg (weighted by num-examples), FedMedian, FedTrimmedAvg
(`trim-beta` cut at each end) or Krum (`byzantine-clients` tolerated).

Flower's FedAvg samples node ids with an unseeded `random.sample`, and node ids
are random per run; here the server learns each node's partition id once
(`discover_partitions`) and samples partition ids from (seed, round), so a
run and its resumption pick the same clients. Replies are aggregated in
partition order so the floating-point sum does not depend on arrival order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from logging import INFO, WARNING
from types import MappingProxyType

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.common import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Krum

from ..core.modalities import MODALITIES
from .replies import reply_problem

QUERY_DESCRIBE = "query"
AGGREGATORS = MappingProxyType({
    "fedavg": lambda common, beta, f: FedAvg(**common),
    "median": lambda common, beta, f: FedMedian(**common),
    "trimmed-mean": lambda common, beta, f: FedTrimmedAvg(**common, beta=beta),
    "krum": lambda common, beta, f: Krum(**common, num_malicious_nodes=f),
})


class RunFailedError(RuntimeError):
    """The run cannot go on: too many rounds in a row kept the model unchanged."""


def discover_partitions(grid: Grid, timeout: float = 600.0) -> tuple[dict[int, int], int]:
    """Ask every connected node for its partition: ({partition id: node id}, number of
    partitions the nodes report)."""
    node_ids = sorted(grid.get_node_ids())
    messages = [Message(content=RecordDict({"config": ConfigRecord({})}),
                        message_type=QUERY_DESCRIBE, dst_node_id=n) for n in node_ids]
    found: dict[int, int] = {}
    counts: set[int] = set()
    for reply in grid.send_and_receive(messages, timeout=timeout):
        node = reply.metadata.src_node_id
        if reply.has_error():
            log(WARNING, "node %s did not describe itself: %s", node, reply.error.reason)
            continue
        try:
            metrics = reply.content["metrics"]
            pid, count = int(metrics["partition-id"]), int(metrics["num-partitions"])
        except (KeyError, TypeError, ValueError) as exc:
            log(WARNING, "node %s described itself wrongly (%s); left out", node, exc)
            continue
        if not 0 <= pid < count:
            log(WARNING, "node %s claims partition %d of %d; left out", node, pid, count)
            continue
        if pid in found:
            raise RuntimeError(f"two nodes claim partition {pid}: check their node config")
        found[pid] = node
        counts.add(count)
    if not found:
        raise RuntimeError("no node answered; is the federation running?")
    if len(counts) > 1:
        raise RuntimeError(f"nodes report different numbers of partitions {sorted(counts)}: "
                           "their manifests or node configs come from different partitions")
    return found, counts.pop()


def sample_partitions(partition_ids: Iterable[int], fraction: float, seed: int,
                      global_round: int) -> list[int]:
    """max(1, floor(K * fraction)) partition ids, drawn from (seed, round), sorted."""
    ids = sorted(partition_ids)
    size = max(1, int(len(ids) * fraction + 1e-9))
    rng = np.random.default_rng([seed, 303, global_round])
    return sorted(int(i) for i in rng.choice(ids, size=size, replace=False))


def aggregate_train_metrics(records: list[RecordDict], weighted_by_key: str) -> MetricRecord:
    """Sums of counts; per-modality losses weighted by that modality's count; max seconds.

    Only ever called on replies that passed `reply_problem`.
    """
    metrics = [next(iter(r.metric_records.values())) for r in records]
    out = {weighted_by_key: int(sum(m[weighted_by_key] for m in metrics))}
    for mod in MODALITIES:
        num, loss = mod.metric("num"), mod.metric("loss")
        n = sum(m[num] for m in metrics)
        out[num] = int(n)
        out[loss] = sum(m[loss] * m[num] for m in metrics) / n if n else 0.0
    out["clients"] = len(metrics)
    out["num-skipped"] = int(sum(m["num-skipped"] for m in metrics))
    out["client-seconds-sum"] = float(sum(m["train-seconds"] for m in metrics))
    out["client-seconds-max"] = float(max(m["train-seconds"] for m in metrics))
    out["peak-mem-mb-max"] = float(max(m["peak-mem-mb"] for m in metrics))
    return MetricRecord(out)


class FssuavlFedAvg(FedAvg):
    """Samples partitions, sends each round's settings, checks every reply, aggregates the
    usable ones with the chosen aggregator, remembers metrics.

    `round_config(global_round)` gives the ConfigRecord of a round's train
    messages (`messages.RoundSettings`); rounds are numbered globally, counting
    the `round_offset` rounds of the run this one resumes. `holdings` maps a
    partition id to what the server knows it holds per modality (None: not
    known); `max_examples` (> 0) caps num-examples of any reply.
    """

    def __init__(self, *, partitions: dict[int, int], seed: int, round_offset: int,
                 fraction_train: float, round_config: Callable[[int], ConfigRecord],
                 min_train_replies: int = 1, max_skipped_rounds: int = 0,
                 aggregation: str = "fedavg", trim_beta: float = 0.2,
                 byzantine_clients: int = 1,
                 holdings: Mapping[int, Mapping[str, int]] | None = None,
                 max_examples: int = 0):
        super().__init__(fraction_train=fraction_train, fraction_evaluate=0.0,
                         min_train_nodes=1, min_available_nodes=1,
                         train_metrics_aggr_fn=aggregate_train_metrics)
        common = dict(fraction_train=fraction_train, fraction_evaluate=0.0, min_train_nodes=1,
                      min_available_nodes=1, train_metrics_aggr_fn=aggregate_train_metrics)
        self.aggregator = AGGREGATORS[aggregation](common, trim_beta, byzantine_clients)
        self.partitions, self.seed, self.round_offset = partitions, seed, round_offset
        self.round_config = round_config
        self.min_train_replies, self.max_skipped_rounds = min_train_replies, max_skipped_rounds
        self.holdings, self.max_examples = holdings, max_examples
        self.reference: dict[str, tuple[int, ...]] = {}
        self.node_to_partition = {n: p for p, n in partitions.items()}
        self.train_metrics: dict[int, dict] = {}
        self.sampled: dict[int, list[int]] = {}
        self.skipped_in_a_row = 0
        self.rounds_aggregated = 0

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

    def _held(self, pid: int) -> Mapping[str, int] | None:
        return None if self.holdings is None else self.holdings.get(pid, {})

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
                continue
            try:
                problem = reply_problem(msg.content, self.reference, pid, self._held(pid),
                                        self.max_examples)
            except Exception as exc:  # a reply must never fail the round, however odd
                problem = f"unreadable reply ({type(exc).__name__}: {exc})"
            if problem is not None:
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
            self.skipped_in_a_row += 1
            if self.max_skipped_rounds and self.skipped_in_a_row > self.max_skipped_rounds:
                raise RunFailedError(
                    f"{self.skipped_in_a_row} rounds in a row kept the model unchanged (more "
                    f"than max-skipped-rounds={self.max_skipped_rounds}); the last one: "
                    f"{len(failed) + len(silent)} clients failed, {len(rejected)} rejected")
            return None, None
        arrays, metrics = self.aggregator.aggregate_train(server_round, usable)
        self.skipped_in_a_row = 0
        self.rounds_aggregated += 1
        if metrics is not None:
            self.train_metrics[global_round] = {**dict(metrics), **faults, "aggregated": 1}
        return arrays, metrics
