"""ClientApp: local SimCLR on the client's unpaired image and audio shard.

The client finds its shard from its node config: either `partition-id` and
`num-partitions` (set by the simulation for each virtual SuperNode; the
shard is recomputed from the seed), or `data-path` = a client manifest
written by `fssuavl-partition` (real SuperNodes; `image-root` and
`audio-root` may point at the node's own copy of the data).
Every reply carries the same array and metric keys whatever the client's
role, as FedAvg requires.
"""

from __future__ import annotations

from logging import INFO, WARNING

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.common import log

from .audio import AudioSpec
from .config import RunConfig
from .data import open_sources
from .manifest import Manifest, mismatched_settings, read_manifest, shard_from_manifest
from .partitions import ClientShard
from .devices import pick_device
from .faults import corrupt_reply, fail_before_training, fault_for
from .inputs import InputPipeline
from .models import ModelArgs
from .shards import client_generator, load_local_data, partition_for
from .speed import peak_memory_mb, reset_peak_memory, reusable_model, speed_for
from .train import MODALITIES, TrainSettings, lr_for_round, train_locally

app = ClientApp()


def manifest_of(node_config: dict) -> Manifest | None:
    return read_manifest(node_config["data-path"]) if "data-path" in node_config else None


def partition_of(node_config: dict) -> tuple[int, int]:
    """(partition id, number of partitions) from the node config, with a clear error."""
    manifest = manifest_of(node_config)
    if manifest is not None:
        return manifest.partition_id, manifest.num_partitions
    try:
        pid, count = int(node_config["partition-id"]), int(node_config["num-partitions"])
    except KeyError as exc:
        raise ValueError(f"node config lacks {exc.args[0]!r}; start the SuperNode with "
                         "--node-config 'data-path=<client manifest>' (see fssuavl-partition) "
                         "or 'partition-id=K num-partitions=N'") from exc
    if not 0 <= pid < count:
        raise ValueError(f"partition-id {pid} is outside 0..{count - 1}")
    return pid, count


def settings_of(cfg: RunConfig, global_round: int) -> TrainSettings:
    """Local training settings of one round (the lr follows `lr-schedule` over rounds)."""
    return TrainSettings(epochs=cfg.local_epochs, batch_size=cfg.batch_size,
                         lr=lr_for_round(cfg.lr, cfg.lr_schedule, global_round,
                                         cfg.num_server_rounds),
                         momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                         temperature=cfg.temperature, loss=cfg.loss, bt_lambda=cfg.bt_lambda)


def local_shard(cfg: RunConfig, node_config: dict, sources: dict) -> tuple[int, ClientShard]:
    """This node's partition id and shard: from its manifest, or recomputed from the seed."""
    manifest = manifest_of(node_config)
    if manifest is None:
        pid, count = partition_of(node_config)
        return pid, partition_for(cfg, sources, count)[pid]
    for problem in mismatched_settings(manifest, cfg):
        log(WARNING, "%s was made with other settings (%s); training on its items anyway",
            manifest.path, problem)
    return manifest.partition_id, shard_from_manifest(manifest, sources)


def node_roots(node_config: dict) -> dict[str, str]:
    """Dataset roots this node overrides ({"image": ..., "audio": ...}, possibly empty)."""
    return {m: str(node_config[f"{m}-root"]) for m in ("image", "audio")
            if node_config.get(f"{m}-root")}


@app.query()
def describe(msg: Message, context: Context) -> Message:
    """Tell the server which partition this node holds."""
    pid, count = partition_of(context.node_config)
    metrics = MetricRecord({"partition-id": pid, "num-partitions": count})
    return Message(content=RecordDict({"metrics": metrics}), reply_to=msg)


@app.train()
def train(msg: Message, context: Context) -> Message:
    cfg = RunConfig.from_run_config(context.run_config)
    global_round = int(msg.content["config"]["global-round"])
    sources = open_sources(cfg, node_roots(context.node_config))
    pid, shard = local_shard(cfg, context.node_config, sources)
    fault = fault_for(cfg.fault_injection, pid, global_round) if cfg.fault_injection else None
    fail_before_training(fault, cfg.round_timeout)
    data, skipped = load_local_data(sources, shard)

    device = pick_device(cfg.device)
    speed = speed_for(cfg, device)
    reusable = reusable_model(ModelArgs.from_config(cfg), str(device), speed)
    model = reusable.model
    model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
    pipeline = InputPipeline(cfg.input_size, AudioSpec(), device)
    reset_peak_memory(device)
    result = train_locally(model, data.to(device), pipeline, settings_of(cfg, global_round),
                           client_generator(cfg.seed, global_round, pid), speed=speed,
                           forward=reusable.forward)

    n = result.num_examples
    log(INFO, "round %d client %d (%s): %d img + %d aud, loss img %.3f aud %.3f, %.1f s on %s",
        global_round, pid, shard.role, n["image"], n["audio"], result.mean_loss["image"],
        result.mean_loss["audio"], result.seconds, device)
    state, num_examples = corrupt_reply(fault, model.state_dict(), n["image"] + n["audio"])
    metrics = {"num-examples": num_examples, "partition-id": pid,
               "train-seconds": result.seconds, "steps": result.steps, "num-skipped": skipped,
               "peak-mem-mb": peak_memory_mb(device)}
    for m in MODALITIES:
        metrics[f"num-{m}"] = n[m]
        metrics[f"loss-{m}"] = float(result.mean_loss[m])
    content = RecordDict({"arrays": ArrayRecord(state),
                          "metrics": MetricRecord(metrics)})
    return Message(content=content, reply_to=msg)
