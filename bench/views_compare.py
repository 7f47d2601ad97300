"""Which view recipe learns better on the built-in data: centralised SimCLR, kNN before and after.

    python bench/views_compare.py --items 1000 --epochs 5

For each modality and each of its recipes (image-views viewmaker | simclr,
audio-views paper | extended), trains one ResNet-18 from the same seeded
initial weights on `--items` train items of the built-in data for `--epochs`
epochs (batch 16, lr 0.03, 32x32, the app's own training step) and prints the
kNN top-1 (k 200, t 0.1; train split as bank, 500 test items as queries)
before and after. The default run's views are chosen by this.
"""

from __future__ import annotations

import argparse
import time

import torch

from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.models import build_model
from fssuavl_app.core.train import LocalData, TrainSettings, train_locally
from fssuavl_app.core.views.audio import AUDIO_RECIPES
from fssuavl_app.core.views.image import IMAGE_RECIPES
from fssuavl_app.data import Builtin, load_items, open_dataset
from fssuavl_app.evaluate.features import extract_features
from fssuavl_app.evaluate.knn import knn_accuracy
from fssuavl_app.runs.config import RunConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="train items per modality")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    builtin = Builtin(0, args.items // 10, 50)
    settings = TrainSettings(epochs=args.epochs, batch_size=16, lr=0.03, momentum=0.9,
                             weight_decay=1e-4)
    for modality, dataset, recipes, key in (
            ("image", "synthetic-shapes", IMAGE_RECIPES, "image_views"),
            ("audio", "synthetic-sounds", AUDIO_RECIPES, "audio_views")):
        source = open_dataset(dataset, builtin=builtin)
        train = load_items(source, "train", range(len(source.labels("train"))))
        test = load_items(source, "test", range(len(source.labels("test"))))
        labels = {s: torch.from_numpy(source.labels(s)) for s in ("train", "test")}
        for recipe in recipes:
            pipeline = InputPipeline(InputSpec(32, **{key: recipe}))
            compact = {s: pipeline.eval_compact(modality, b.data)
                       for s, b in (("train", train), ("test", test))}
            torch.manual_seed(0)
            # the full ResNet-18, as the figures the README quotes were measured
            model = build_model(RunConfig(arch="resnet18").model_args())

            def knn() -> float:
                feats = {s: extract_features(model, pipeline, modality, c)
                         for s, c in compact.items()}
                return knn_accuracy(feats["train"], labels["train"], feats["test"],
                                    labels["test"], 10)[1]

            before = knn()
            started = time.perf_counter()
            train_locally(model, LocalData({modality: train.data}), pipeline, settings,
                          torch.Generator().manual_seed(0))
            print(f"{modality} views {recipe:9s}: kNN top-1 {before:.3f} -> {knn():.3f} "
                  f"({args.items} items x {args.epochs} epochs, "
                  f"{time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
