"""Layer 3, evaluation of encoders: what `fssuavl-evaluate` and the server's monitor compute.

`knn` (weighted kNN as pure functions), `probe` (linear probe and
fine-tuning), `features` (the one place that says which features are used),
`monitor` (the server's kNN monitor), `tasks` (what `--task SPEC` names, with
aligned labels, paired tasks included), `runner` (protocols x modes on
tasks), `report` and `plots` (JSON, Markdown tables laid out like the
paper's, figures). Imports `core`, `data` and `runs`; never Flower.
"""
