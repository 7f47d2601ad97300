"""Layer 0, plain PyTorch: what one client computes, with no Flower, no files and no run config.

`modalities` (one object per modality: its compact storage, training views,
evaluation input and metric names; `MODALITIES` lists them), `views` (the
per-sample random view operations), `audio_frontend` (waveform -> log-mel
"image"), `inputs` (`InputSpec` + `InputPipeline`: raw batches -> encoder
inputs on a device), `archs` and `methods` (registries of encoders and of SSL
methods: loss + projection head + options), `models` (`ModelArgs` ->
`SSLModel`), `train` (the local training step), `speed` and `devices`
(precision, memory format, device choice). Nothing here imports `data`,
`runs`, `fl`, `evaluate` or `cli`; a test enforces it.
"""
