"""What a client's train reply must hold, and why a reply cannot be aggregated.

The server trusts no reply: the metric keys must be exactly `reply_keys()`,
counts non-negative integers, times and losses finite, `num-examples` the
sum of the per-modality counts and no more than the server knows the client
holds, `partition-id` the sender's own, and the arrays the global model's
keys, shapes and finite values. Any other reply is rejected with the reason.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from flwr.app import RecordDict

from ..core.modalities import MODALITIES

COUNTS = ("num-examples", "partition-id", "steps", "num-skipped")
REALS = ("train-seconds", "peak-mem-mb")


def count_keys() -> tuple[str, ...]:
    return (*COUNTS, *(m.metric("num") for m in MODALITIES))


def real_keys() -> tuple[str, ...]:
    return (*REALS, *(m.metric("loss") for m in MODALITIES))


def reply_keys() -> frozenset[str]:
    """The metric keys of every train reply, whatever the client's role."""
    return frozenset((*count_keys(), *real_keys()))


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metrics_problem(metrics: Mapping, partition_id: int, held: Mapping[str, int] | None,
                    cap: int) -> str | None:
    """Why a reply's metrics are not acceptable, or None.

    `held` is what the server knows the client holds per modality (None: not
    known); `cap` bounds num-examples when > 0.
    """
    keys = set(metrics.keys())
    if keys != reply_keys():
        missing, extra = sorted(reply_keys() - keys), sorted(keys - reply_keys())
        return f"metric keys differ from a train reply's (missing {missing[:3]}, " \
               f"unexpected {extra[:3]})"
    for key in count_keys():
        if not _is_count(metrics[key]):
            return f"{key} is {metrics[key]!r}; it must be a non-negative integer"
    for key in real_keys():
        if not _is_real(metrics[key]):
            return f"{key} is {metrics[key]!r}; it must be a finite number"
    if metrics["partition-id"] != partition_id:
        return f"partition-id is {metrics['partition-id']}, but the reply came from the node " \
               f"of partition {partition_id}"
    counts = {m.name: metrics[m.metric("num")] for m in MODALITIES}
    if metrics["num-examples"] != sum(counts.values()):
        return f"num-examples is {metrics['num-examples']}, not the sum of the per-modality " \
               f"counts {counts}"
    if metrics["num-examples"] <= 0:
        return "num-examples is 0: the client trained on nothing"
    if held is not None:
        for name, n in counts.items():
            if n > held.get(name, 0):
                return f"num-{name} is {n}, more than the {held.get(name, 0)} items the " \
                       f"client holds"
    if cap and metrics["num-examples"] > cap:
        return f"num-examples is {metrics['num-examples']}, more than max-client-examples={cap}"
    return None


def arrays_problem(record, reference: Mapping[str, tuple[int, ...]]) -> str | None:
    """Why an update's arrays cannot be averaged into the model, or None."""
    if set(record.keys()) != set(reference):
        missing, extra = set(reference) - set(record.keys()), set(record.keys()) - set(reference)
        return f"array keys differ from the model's (missing {sorted(missing)[:3]}, " \
               f"unexpected {sorted(extra)[:3]})"
    for key, shape in reference.items():
        value = record[key].numpy()
        if tuple(value.shape) != shape:
            return f"{key} has shape {tuple(value.shape)}, expected {shape}"
        if value.dtype.kind not in "fiub":
            return f"{key} has dtype {value.dtype}, not a number type"
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return f"{key} holds NaN or infinite values"
    return None


def reply_problem(content: RecordDict, reference: Mapping[str, tuple[int, ...]],
                  partition_id: int, held: Mapping[str, int] | None, cap: int) -> str | None:
    """Why a train reply cannot be aggregated, or None when it can."""
    metrics = list(content.metric_records.values())
    arrays = list(content.array_records.values())
    if len(metrics) != 1 or len(arrays) != 1:
        return "expected one ArrayRecord and one MetricRecord"
    return (metrics_problem(metrics[0], partition_id, held, cap)
            or arrays_problem(arrays[0], reference))
