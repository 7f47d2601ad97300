"""Image views: per-sample random resized crop, flip, colour jitter, grayscale and blur.

Two recipes (run-config `image-views`), both ending in fixed ImageNet normalisation:
- "viewmaker": the paper's (its reference [33], Viewmaker's expert views for
  CIFAR-size images): random resized crop (scale 0.2-1, ratio 3/4-4/3),
  colour jitter (brightness, contrast, saturation 0.4, hue 0.1) with p=0.8,
  grayscale p=0.2, Gaussian blur with sigma uniform in [0.1, 2] pixels of the
  view with p=0.5, horizontal flip p=0.5. Viewmaker normalises with CIFAR's
  mean and std; we keep one fixed normalisation (ImageNet's) for every
  recipe and for evaluation, an affine map the first layer absorbs.
- "simclr": SimCLR's jitter at strength 1 (0.8, 0.8, 0.8, hue 0.2) with
  p=0.8, the same crop, flip and grayscale, no blur. The default run uses it:
  on the built-in shapes it kept more of the kNN accuracy (`python
  bench/views_compare.py`, 1000 shapes x 5 epochs, centralised: kNN top-1
  0.142 -> 0.140 with simclr, 0.142 -> 0.128 with viewmaker; an earlier
  measurement without blur: 0.17 -> 0.32 with jitter 0.8, 0.17 -> 0.28 with 0.4).

Every random draw comes from the caller's generator, per sample, on the
batch's device. kornia.augmentation also draws per-sample parameters on the
GPU, but from torch's global generator: a client's views would then depend
on everything else the process drew, so these ops stay ours.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import torch
import torch.nn.functional as F

from .draw import bernoulli, uniform

IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)
_LUMA = (0.299, 0.587, 0.114)


def luma(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, 1, H, W) luma."""
    w = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def normalise_images(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) floats in [0, 1] -> normalised with fixed ImageNet statistics."""
    mean = torch.tensor(IMAGE_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def eval_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Deterministic eval input: uint8 (N, 3, H, W) -> normalised float (N, 3, size, size)."""
    x = images.float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
    return normalise_images(x)


def random_resized_crop_flip(x: torch.Tensor, size: int, generator: torch.Generator | None,
                             scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)) -> torch.Tensor:
    """Per-sample crop of area `scale`, aspect `ratio`, flipped with p=0.5, resized to size.

    One `grid_sample` call for the batch; crops larger than the image are
    shrunk to fit (torchvision falls back to a centre crop instead).
    """
    n, dev = x.shape[0], x.device
    area = uniform(n, *scale, dev, generator)
    log_r = uniform(n, math.log(ratio[0]), math.log(ratio[1]), dev, generator)
    aspect = torch.exp(log_r)
    w = torch.sqrt(area * aspect).clamp(max=1.0)  # fraction of the width
    h = torch.sqrt(area / aspect).clamp(max=1.0)
    cx = (1 - w) * (2 * torch.rand(n, device=dev, generator=generator) - 1)
    cy = (1 - h) * (2 * torch.rand(n, device=dev, generator=generator) - 1)
    flip = torch.where(bernoulli(n, 0.5, dev, generator), -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 0, 2] = w * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, [n, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=False)


def _rotate_hue(x: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Rotate hue by `turns` (N,) of a full circle in YIQ space (a linear map per sample)."""
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                           [0.211, -0.523, 0.312]], device=x.device, dtype=x.dtype)
    from_yiq = torch.linalg.inv(to_yiq)
    c, s = torch.cos(2 * math.pi * turns), torch.sin(2 * math.pi * turns)
    rot = torch.zeros(len(turns), 3, 3, device=x.device, dtype=x.dtype)
    rot[:, 0, 0], rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = 1, c, -s, s, c
    m = from_yiq @ rot @ to_yiq  # (N, 3, 3)
    return torch.einsum("nij,njhw->nihw", m, x)


def colour_jitter(x: torch.Tensor, generator: torch.Generator | None, p: float = 0.8,
                  strength: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2)
                  ) -> torch.Tensor:
    """Per-sample brightness, contrast, saturation and hue jitter, each sample with prob p."""
    n, dev = x.shape[0], x.device
    b, c, s, h = strength
    on = bernoulli(n, p, dev, generator).view(n, 1, 1, 1)
    bright = uniform(n, 1 - b, 1 + b, dev, generator).view(n, 1, 1, 1)
    contrast = uniform(n, 1 - c, 1 + c, dev, generator).view(n, 1, 1, 1)
    satur = uniform(n, 1 - s, 1 + s, dev, generator).view(n, 1, 1, 1)
    hue = uniform(n, -h, h, dev, generator)
    y = (x * bright).clamp(0, 1)
    mean = luma(y).mean(dim=(2, 3), keepdim=True)
    y = ((y - mean) * contrast + mean).clamp(0, 1)
    gray = luma(y)
    y = ((y - gray) * satur + gray).clamp(0, 1)
    y = _rotate_hue(y, hue).clamp(0, 1)
    return torch.where(on, y, x)


def random_grayscale(x: torch.Tensor, generator: torch.Generator | None, p: float = 0.2
                     ) -> torch.Tensor:
    on = bernoulli(x.shape[0], p, x.device, generator).view(-1, 1, 1, 1)
    return torch.where(on, luma(x).expand_as(x), x)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image (N, C, H, W) with its own Gaussian of std `sigma` (N,) pixels.

    Separable, reflect-padded, kernel radius ceil(3 * max sigma); a sigma of 0
    leaves the image unchanged.
    """
    n, c, h, w = x.shape
    radius = max(1, int(math.ceil(3 * float(sigma.max()))))
    radius = min(radius, h - 1, w - 1)
    pos = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    s = sigma.to(x.dtype).clamp(min=1e-6)[:, None]
    kernel = torch.exp(-0.5 * (pos[None, :] / s) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (N, K); sigma ~0 -> a delta
    kernel = kernel.repeat_interleave(c, dim=0)  # (N * C, K): one kernel per channel
    y = F.pad(x.reshape(1, n * c, h, w), (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, kernel[:, None, None, :], groups=n * c)
    y = F.conv2d(y, kernel[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def random_blur(x: torch.Tensor, generator: torch.Generator | None, p: float = 0.5,
                sigma: tuple[float, float] = (0.1, 2.0)) -> torch.Tensor:
    """Gaussian blur with sigma ~ U(sigma) pixels, each sample with probability p."""
    n, dev = x.shape[0], x.device
    on = bernoulli(n, p, dev, generator)
    s = uniform(n, *sigma, dev, generator)
    return gaussian_blur(x, torch.where(on, s, torch.zeros_like(s)))


def simclr_views(images: torch.Tensor, size: int, generator: torch.Generator | None
                 ) -> torch.Tensor:
    """One random view per sample: uint8 (N, 3, H, W) -> normalised float (N, 3, size, size)."""
    x = images.float() / 255.0
    x = random_resized_crop_flip(x, size, generator)
    x = colour_jitter(x, generator)
    x = random_grayscale(x, generator)
    return normalise_images(x)


def viewmaker_views(images: torch.Tensor, size: int, generator: torch.Generator | None
                    ) -> torch.Tensor:
    """The paper's views (Viewmaker's expert recipe): uint8 (N, 3, H, W) -> (N, 3, size, size)."""
    x = images.float() / 255.0
    x = random_resized_crop_flip(x, size, generator)  # the flip commutes with what follows
    x = colour_jitter(x, generator, strength=(0.4, 0.4, 0.4, 0.1))
    x = random_grayscale(x, generator)
    x = random_blur(x, generator)
    return normalise_images(x)


def crop_flip_views(images: torch.Tensor, size: int, generator: torch.Generator | None
                    ) -> torch.Tensor:
    """Fine-tuning's training views: random resized crop and flip only."""
    return normalise_images(random_resized_crop_flip(images.float() / 255.0, size, generator))


IMAGE_RECIPES = MappingProxyType({"viewmaker": viewmaker_views, "simclr": simclr_views})
