"""PNG pictures: t-SNE of several datasets' features (Figures 2-3) and accuracy over rounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def tsne_plot(groups: dict[str, torch.Tensor], path: Path, title: str, seed: int = 0) -> Path:
    """One 2-d t-SNE of all groups' (N_g, D) features, points coloured by group (dataset)."""
    from sklearn.manifold import TSNE

    names = [n for n, f in groups.items() if len(f)]
    feats = torch.cat([torch.nn.functional.normalize(groups[n].float(), dim=1) for n in names])
    which = np.concatenate([np.full(len(groups[n]), i) for i, n in enumerate(names)])
    perplexity = float(max(2, min(30, (len(feats) - 1) // 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed
              ).fit_transform(feats.numpy())
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    for i, name in enumerate(names):
        pts = xy[which == i]
        ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.7, label=f"{name} ({len(pts)})")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=3, fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def rounds_plot(series: dict[str, list[tuple[int, float]]], path: Path, title: str) -> Path:
    """Top-1 accuracy (%) against round, one line per series (task / mode)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, points in sorted(series.items()):
        points = sorted(points)
        ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", ms=3, label=name)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
