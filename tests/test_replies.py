"""Replies are validated, never trusted: one lying client cannot take the model or end the run;
robust aggregation (Flower's FedMedian, FedTrimmedAvg, Krum) against a poisoned update."""

from __future__ import annotations

import math

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict

from fssuavl_app.fl.replies import reply_keys
from fssuavl_app.fl.strategy import FssuavlFedAvg, RunFailedError

pytestmark = pytest.mark.integration

SHAPES = {"w": (4, 3), "b": (3,), "bn.num_batches_tracked": ()}
HELD = {"image": 30, "audio": 20}


def _strategy(n: int = 5, **kwargs) -> FssuavlFedAvg:
    strategy = FssuavlFedAvg(partitions={p: 100 + p for p in range(n)}, seed=0, round_offset=0,
                             fraction_train=1.0, round_config=lambda r: ConfigRecord({}),
                             holdings={p: HELD for p in range(n)}, **kwargs)
    strategy.reference = dict(SHAPES)
    strategy.sampled[1] = list(range(n))
    return strategy


def _metrics(pid: int, image: int = 10, audio: int = 5, **changes) -> dict:
    metrics = {"num-examples": image + audio, "partition-id": pid, "train-seconds": 1.5,
               "steps": 3, "num-skipped": 0, "peak-mem-mb": 0.0, "num-image": image,
               "num-audio": audio, "loss-image": 4.0, "loss-audio": 3.0}
    metrics.update(changes)
    return {k: v for k, v in metrics.items() if v is not None}


def _arrays(value: float) -> dict[str, np.ndarray]:
    return {"w": np.full((4, 3), value, np.float32), "b": np.full(3, value, np.float32),
            "bn.num_batches_tracked": np.array(7, np.int64)}


def _reply(pid: int, arrays: dict, metrics: dict) -> Message:
    train = Message(content=RecordDict({"config": ConfigRecord({})}), dst_node_id=100 + pid,
                    message_type="train")
    record = ArrayRecord({k: Array(v) for k, v in arrays.items()})
    return Message(content=RecordDict({"arrays": record,
                                       "metrics": MetricRecord(metrics)}), reply_to=train)


def _aggregate(strategy, replies):
    arrays, metrics = strategy.aggregate_train(1, replies)
    return (None if arrays is None else {k: v.numpy() for k, v in arrays.items()}), metrics


LIES = [
    ("weights 0.123, num-examples 10**12", dict(num_examples=10 ** 12), "num-examples"),
    ("num-examples inf", dict(num_examples=math.inf), "non-negative integer"),
    ("num-examples a float", dict(num_examples=15.0), "non-negative integer"),
    ("more images than it holds", dict(image=31, num_examples=36), "more than the 30 items"),
    ("counts that do not add up", dict(num_examples=16), "not the sum"),
    ("an extra metric key", {"extra": 1.0}, "unexpected ['extra']"),
    ("a missing metric key", {"num-image": None}, "missing ['num-image']"),
    ("a NaN loss", {"loss-audio": math.nan}, "finite"),
    ("another client's partition id", {"partition-id": 3}, "partition 0"),
    ("a negative count", {"steps": -1}, "non-negative integer"),
    ("a list instead of a number", {"train-seconds": [1.0, 2.0]}, "finite number"),
]


@pytest.mark.parametrize("what,lie,reason", LIES, ids=[x[0] for x in LIES])
def test_a_lying_reply_is_rejected_with_its_reason_and_the_round_goes_on(
        task_identity, caplog, what, lie, reason):
    lie = dict(lie)
    image = lie.pop("image", 10)
    num_examples = lie.pop("num_examples", image + 5)
    liar = _reply(0, _arrays(0.123), _metrics(0, image=image, **{"num-examples": num_examples},
                                              **lie))
    honest = [_reply(p, _arrays(1.0), _metrics(p)) for p in (1, 2)]
    strategy = _strategy(3)
    arrays, metrics = _aggregate(strategy, [liar, *honest])
    assert np.allclose(arrays["w"], 1.0) and int(metrics["num-examples"]) == 30
    record = strategy.train_metrics[1]
    assert record["rejected-clients"] == [0] and record["clients"] == 2
    assert reason in caplog.text and "update of client 0 rejected" in caplog.text


def test_random_malformed_replies_never_fail_the_round(task_identity):
    rng = np.random.default_rng(0)
    odd_values = [math.inf, -math.inf, math.nan, -1, 10 ** 15, 0, 1e308, 2.5, [1, 2], True]
    keys = sorted(reply_keys())
    for case in range(150):
        strategy = _strategy(4)
        replies = [_reply(p, _arrays(1.0), _metrics(p)) for p in (1, 2, 3)]
        metrics = _metrics(0)
        for _ in range(int(rng.integers(1, 4))):
            action = rng.integers(0, 4)
            key = keys[int(rng.integers(len(keys)))]
            if action == 0:
                metrics.pop(key, None)
            elif action == 1:
                metrics[f"junk-{case}"] = 1.0
            else:
                value = odd_values[int(rng.integers(len(odd_values)))]
                metrics[key] = int(value) if isinstance(value, bool) else value
        arrays = _arrays(float(rng.normal()))
        if rng.random() < 0.3:
            arrays["w"] = np.zeros((int(rng.integers(1, 5)), 3), np.float32)
        try:
            bad = _reply(0, arrays, metrics)
        except Exception:  # a MetricRecord refuses the value: nothing to send
            continue
        result, aggregated = _aggregate(strategy, [bad, *replies])
        assert result is not None and aggregated is not None
        if strategy.train_metrics[1]["num-rejected"] == 0:  # the mutation was harmless
            assert int(aggregated["num-examples"]) == 60
        else:
            assert np.allclose(result["w"], 1.0) and int(aggregated["num-examples"]) == 45


def test_rounds_without_a_usable_reply_end_the_run_after_max_skipped_rounds(task_identity):
    strategy = _strategy(2, max_skipped_rounds=2)
    lie = [_reply(0, _arrays(1.0), _metrics(0, **{"num-examples": 10 ** 9}))]
    for server_round in (1, 2):
        strategy.sampled[server_round] = [0]
        assert strategy.aggregate_train(server_round, lie) == (None, None)
    strategy.sampled[3] = [0]
    with pytest.raises(RunFailedError, match="3 rounds in a row kept the model"):
        strategy.aggregate_train(3, lie)


def _distance(arrays: dict, honest_mean: float) -> float:
    return float(np.sqrt(((arrays["w"] - honest_mean) ** 2).sum()
                         + ((arrays["b"] - honest_mean) ** 2).sum()))


def test_robust_aggregation_resists_one_poisoned_update(task_identity, capsys):
    honest = [1.0, 1.1, 0.9, 1.05]
    distances = {}
    for aggregation in ("fedavg", "median", "trimmed-mean", "krum"):
        replies = [_reply(p, _arrays(v), _metrics(p)) for p, v in enumerate(honest)]
        replies.append(_reply(4, _arrays(100.0), _metrics(4)))  # honest counts, poisoned weights
        arrays, _ = _aggregate(_strategy(5, aggregation=aggregation, trim_beta=0.2), replies)
        distances[aggregation] = _distance(arrays, float(np.mean(honest)))
        assert int(arrays["bn.num_batches_tracked"]) == 7
    with capsys.disabled():
        print("\ndistance to the honest mean, 1 of 5 poisoned: "
              + ", ".join(f"{k} {v:.3f}" for k, v in distances.items()))
    assert distances["fedavg"] > 50
    assert all(distances[k] < 0.5 for k in ("median", "trimmed-mean", "krum"))


def test_max_client_examples_caps_what_one_reply_may_claim(task_identity, caplog):
    # 15 examples each; the cap of 12 leaves every reply out: the round keeps the model
    strategy = _strategy(2, max_examples=12)
    arrays, _ = _aggregate(strategy, [_reply(p, _arrays(1.0), _metrics(p)) for p in (0, 1)])
    assert arrays is None
    assert "more than max-client-examples=12" in caplog.text
    # a cap above the claims lets them through
    arrays, metrics = _aggregate(_strategy(2, max_examples=15),
                                 [_reply(p, _arrays(1.0), _metrics(p)) for p in (0, 1)])
    assert np.allclose(arrays["w"], 1.0) and int(metrics["num-examples"]) == 30
