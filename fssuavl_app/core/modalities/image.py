"""Images: uint8 RGB items (H, W, 3), stacked into uint8 (N, 3, H, W) batches."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import torch

from ..views.image import IMAGE_RECIPES, crop_flip_views, eval_images
from .base import Modality


class ImageTransform:
    """Image views and eval inputs at `size` x `size` on `device`."""

    def __init__(self, size: int, recipe: str, device: torch.device):
        if recipe not in IMAGE_RECIPES:
            raise ValueError(f"unknown image views {recipe!r}; known: {', '.join(IMAGE_RECIPES)}")
        self.size, self.views, self.device = size, IMAGE_RECIPES[recipe], device

    def train_views(self, batch: torch.Tensor, generator):
        images = batch.to(self.device, non_blocking=True)
        return self.views(images, self.size, generator), self.views(images, self.size, generator)

    def eval_compact(self, batch: torch.Tensor) -> torch.Tensor:
        return batch  # uint8 is already compact

    def eval_input(self, compact: torch.Tensor) -> torch.Tensor:
        return eval_images(compact.to(self.device, non_blocking=True), self.size)

    def finetune_form(self, batch: torch.Tensor) -> torch.Tensor:
        return batch

    def finetune_view(self, stored: torch.Tensor, generator) -> torch.Tensor:
        """Random resized crop (scale 0.2-1) and flip."""
        return crop_flip_views(stored.to(self.device, non_blocking=True), self.size, generator)


class ImageModality(Modality):
    name = "image"
    letter = "V"
    short = "img"

    def stack(self, items: Sequence[np.ndarray], max_seconds: float | None = None
              ) -> torch.Tensor:
        """uint8 (N, 3, H, W); every item must have the same size."""
        if not len(items):
            return torch.zeros(0, 3, 1, 1, dtype=torch.uint8)
        shapes = {a.shape for a in items}
        if len(shapes) > 1:
            raise ValueError(f"images of several sizes {sorted(shapes)[:3]}; the reader must "
                             "bring them to one size")
        return torch.from_numpy(np.stack(items)).permute(0, 3, 1, 2).contiguous()

    def concat(self, batches) -> torch.Tensor:
        return torch.cat(list(batches))

    def describe(self, item: np.ndarray) -> dict:
        return {"size": f"{item.shape[1]}x{item.shape[0]}"}

    def summarize(self, described) -> dict:
        return {"image-sizes": dict(Counter(d["size"] for d in described))}

    def summary_lines(self, split: str, summary: dict) -> list[str]:
        sizes = ", ".join(f"{k} ({v})" for k, v in Counter(summary["image-sizes"]).most_common(5))
        return [f"  {split} image sizes (W x H, as read): {sizes or 'none'}"]

    def transform(self, spec, device) -> ImageTransform:
        return ImageTransform(spec.input_size, spec.image_views, torch.device(device))


IMAGE = ImageModality()
