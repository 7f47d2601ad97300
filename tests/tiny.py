"""Run-config overrides for tiny, fast runs (32x32 inputs, a few samples)."""

TINY = {"num-server-rounds": 2, "input-size": 32, "synthetic-train-per-class": 8,
        "synthetic-test-per-class": 4, "batch-size": 8, "local-epochs": 1, "knn-k": 10,
        "fraction-train": 0.5, "eval-every": 1}
