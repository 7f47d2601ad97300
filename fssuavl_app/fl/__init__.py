"""Layer 4, Flower: the ClientApp and ServerApp bodies and what they need.

`client` (describe a node, train one round), `server` (the ServerApp's main:
rounds, checkpoints, metrics, kNN monitor), `strategy` (FedAvg with seeded
sampling by partition id, reply checks, per-modality metrics), `messages`
(the per-round settings the server sends), `runtime` (what a worker process
builds once: device, sources, shards, the reusable model) and `faults`
(deliberate client failures for tests). Imports `core`, `data`, `runs` and
`evaluate`; nothing below imports it.
"""
