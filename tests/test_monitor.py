"""The server's kNN monitor on the built-in data: its scores are the kNN of its own features."""

from __future__ import annotations

import re

import pytest
import torch

from fssuavl_app.core.inputs import InputPipeline
from fssuavl_app.core.models import build_model
from fssuavl_app.evaluate.features import extract_features
from fssuavl_app.evaluate.knn import knn_accuracy
from fssuavl_app.evaluate.monitor import KnnMonitor
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.sources import open_run_sources

from .tiny import TINY

pytestmark = pytest.mark.integration


def _monitor_and_model(k: int, max_samples: int = 0):
    cfg = RunConfig.from_run_config(TINY)
    sources = open_run_sources(cfg)
    pipeline = InputPipeline(cfg.input_spec())
    torch.manual_seed(0)
    model = build_model(cfg.model_args()).eval()
    return KnnMonitor(sources, pipeline, k, 0.1, max_samples, seed=0), model, pipeline


def test_monitor_scores_are_the_knn_of_its_features():
    monitor, model, pipeline = _monitor_and_model(k=10)
    report = monitor(model)
    assert set(report) == {"knn-image-top1", "knn-image-top5", "knn-audio-top1",
                           "knn-audio-top5"}
    for m, src in monitor.sources.items():
        feats = {s: extract_features(model, pipeline, m, monitor.inputs[(m, s)])
                 for s in ("train", "test")}
        expected = knn_accuracy(feats["train"], monitor.labels[(m, "train")], feats["test"],
                                monitor.labels[(m, "test")], len(src.classes), 10, 0.1)
        assert report[f"knn-{m}-top1"] == pytest.approx(expected[1])
        assert report[f"knn-{m}-top5"] == pytest.approx(expected[5])


def test_scoring_the_same_features_with_another_k_equals_a_monitor_of_that_k():
    monitor, model, _ = _monitor_and_model(k=10)
    feats = monitor.features(model)
    assert monitor.score(feats) == pytest.approx(monitor(model))
    other, _, _ = _monitor_and_model(k=3)
    assert monitor.score(feats, k=3) == pytest.approx(other(model))


def test_bank_is_capped_and_described():
    monitor, _, _ = _monitor_and_model(k=10, max_samples=20)
    assert len(monitor.labels[("image", "train")]) == 20  # 80 training items, capped
    assert len(monitor.labels[("image", "test")]) == 20  # 40 test items, capped
    assert re.fullmatch(r"image 20 bank / 20 queries, audio 20 bank / 20 queries "
                        r"\(decoded in \d+\.\d s\)", monitor.describe())
    # knn_scores clamps k to the bank: a 20-item bank at k=200 scores with k=20
    tiny_bank, _, _ = _monitor_and_model(k=200, max_samples=20)
    assert tiny_bank.describe().endswith("; the image and audio banks hold fewer than knn-k 200 "
                                         "items: every item votes")


def test_rescoring_with_k_zero_is_refused_not_replaced_by_the_monitors_k():
    monitor, model, _ = _monitor_and_model(k=10)
    with pytest.raises(ValueError, match="k >= 1"):
        monitor.score(monitor.features(model), k=0)


def test_small_k_adds_top1_at_that_k_from_the_same_features():
    monitor, model, pipeline = _monitor_and_model(k=10)
    small = KnnMonitor(monitor.sources, pipeline, 10, 0.1, 0, seed=0, small_k=3)
    report = small(model)
    at_3 = monitor.score(monitor.features(model), k=3)
    assert report == pytest.approx({**monitor(model), "knn-image-top1-k3": at_3["knn-image-top1"],
                                    "knn-audio-top1-k3": at_3["knn-audio-top1"]})
    same = KnnMonitor(monitor.sources, pipeline, 10, 0.1, 0, seed=0, small_k=10)
    assert set(same(model)) == set(monitor(model))  # small k = k: nothing twice


def test_final_report_shows_the_small_k_only_where_both_rounds_have_it(tmp_path):
    from fssuavl_app.fl.server import final_report
    from fssuavl_app.runs.rundir import MetricsLog

    log = MetricsLog(tmp_path, None)
    log.write({"round": 0, "knn-image-top1": 0.15, "knn-audio-top1": 0.5,
               "knn-image-top1-k20": 0.22, "knn-audio-top1-k20": 0.74})
    log.write({"round": 1, "clients": 2})
    log.write({"round": 2, "knn-image-top1": 0.2, "knn-audio-top1": 0.6,
               "knn-image-top1-k20": 0.25})
    log.close()
    report = final_report(tmp_path, small_k=20).splitlines()
    assert report[1:] == ["kNN top-1 image: round 0 = 0.1500, round 2 = 0.2000 "
                          "(k=20: 0.2200 -> 0.2500)",
                          "kNN top-1 audio: round 0 = 0.5000, round 2 = 0.6000"]
    assert "k=20" not in final_report(tmp_path)
