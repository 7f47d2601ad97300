"""Per-sample random views, batched on the device.

torchvision's v2 transforms on a batched tensor draw ONE parameter set for the
whole batch, which is wrong for contrastive learning; here every sample draws
its own parameters from the caller's generator, on every call (never once at
dataset build time). `image` holds the image operations and recipes, `audio`
the waveform crop and the spectrogram operations and recipes.
"""
