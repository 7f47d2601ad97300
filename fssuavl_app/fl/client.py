"""ClientApp bodies: describe this node, and train one round on its unpaired data.

The node finds its shard from its node config: either `partition-id` and
`num-partitions` (set by the simulation for each virtual SuperNode; the
shard is recomputed from the seed), or `data-path` = a client manifest
written by `fssuavl-partition` (real SuperNodes; `image-root` and
`audio-root` may point at the node's own copy of the data). It trains with
the settings of the train message (`messages.RoundSettings`). Every reply
carries the same array and metric keys whatever the client's role, as
FedAvg requires: only weights and scalar metrics leave the client.
"""

from __future__ import annotations

from logging import INFO

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.common import log

from ..core.modalities import MODALITIES
from ..core.speed import peak_memory_mb, reset_peak_memory
from ..core.train import client_generator, train_locally
from ..data import load_shard
from .faults import corrupt_reply, fail_before_training, fault_for
from .messages import RoundSettings
from .runtime import RuntimeHolder, partition_of


def describe(msg: Message, context: Context) -> Message:
    """Tell the server which partition this node holds."""
    pid, count = partition_of(context.node_config)
    metrics = MetricRecord({"partition-id": pid, "num-partitions": count})
    return Message(content=RecordDict({"metrics": metrics}), reply_to=msg)


def train(runtimes: RuntimeHolder, msg: Message, context: Context) -> Message:
    """One round: load the global weights, train on this node's shard, reply."""
    settings = RoundSettings.from_record(msg.content["config"])
    runtime = runtimes.get(context, settings.run_config)
    pid, shard = runtime.shard(context.node_config)
    fault = fault_for(runtime.faults, pid, settings.global_round)
    fail_before_training(fault, runtime.cfg.round_timeout)
    data, skipped = load_shard(runtime.sources(context.node_config), shard,
                               runtime.cfg.max_clip_seconds)

    device = runtime.device
    reusable = runtime.model(settings.model)
    reusable.model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
    reset_peak_memory(device)
    result = train_locally(reusable.model, data.to(device), runtime.pipeline(settings.inputs),
                           settings.train, client_generator(settings.seed, settings.global_round,
                                                            pid),
                           speed=runtime.speed(settings.model.arch), forward=reusable.forward)

    n, loss = result.num_examples, result.mean_loss
    log(INFO, "round %d client %d (%s): %s, loss %s, %.1f s on %s, %s", settings.global_round,
        pid, shard.role, " + ".join(f"{n[m.name]} {m.short}" for m in MODALITIES),
        " ".join(f"{m.short} {loss[m.name]:.3f}" for m in MODALITIES), result.seconds, device,
        runtime.place)
    state, num_examples = corrupt_reply(fault, reusable.model.state_dict(), sum(n.values()))
    metrics = {"num-examples": num_examples, "partition-id": pid,
               "train-seconds": result.seconds, "steps": result.steps, "num-skipped": skipped,
               "peak-mem-mb": peak_memory_mb(device)}
    for m in MODALITIES:
        metrics[m.metric("num")] = n[m.name]
        metrics[m.metric("loss")] = float(loss[m.name])
    return Message(content=RecordDict({"arrays": ArrayRecord(state),
                                       "metrics": MetricRecord(metrics)}), reply_to=msg)
