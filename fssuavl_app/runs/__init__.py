"""Layer 2, runs: the typed run config, what it means for a run's data (`sources`:
opened sources and the partition), self-describing checkpoints, the run
directory with its metrics, and client manifests for real SuperNodes.
Imports `core` and `data`; never Flower.
"""
