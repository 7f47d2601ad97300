"""Compact ViT (the paper's audio-visual ViT settings); 256-d features, mean of output tokens."""

from __future__ import annotations

import torch
from torch import nn

from .base import Arch, mlp

VIT_PATCH = 16
VIT_WIDTH = 256


class ViT(nn.Module):
    """Compact ViT encoder: (N, 3, S, S) -> (N, D), the mean of the output tokens.

    FSSUAVL settings: 16x16 patches (conv, stride 16) -> (S/16)^2 tokens (64 at
    S=128), learned position embeddings, NO class token, 18 pre-norm layers
    (`nn.TransformerEncoderLayer`, GELU, no dropout), 8 heads, MLP ratio 4,
    final LayerNorm (eps 1e-6), then the mean over tokens (SSAST's
    `finetuningavgtok`; the paper evaluates "the mean of the output features").

    Width D = 256 (32 per head). The paper gives no width; its Table 5 lists
    "Parameters (R-18/ViT)" as "12M/15M". Measured with the default head
    (Linear(256, 256) -> ReLU -> Linear(256, 128)) at S=128: encoder
    14,429,440 + head 98,688 = 14,528,128 (-3.1% vs 15M). The same table
    rounds the R-18's 11,242,176 (encoder + Linear(512, 128)) up to "12M", so
    rounding 14.5M up to "15M" is consistent; D=264 (15.4M) would round to 16M.
    Per layer: 12 D^2 + 13 D parameters.

    Init as timm/SSAST: `nn.init.trunc_normal_(std=0.02)` (default bounds
    +-2, in effect a plain normal) for the position embedding, every linear
    weight (including the fused q/k/v projection), the patch projection and
    the head's linears; zero biases; LayerNorms at (1, 0). Deterministic
    under `torch.manual_seed`.
    """

    def __init__(self, input_size: int = 128, dim: int = 256, depth: int = 18, heads: int = 8,
                 mlp_ratio: float = 4.0, patch: int = VIT_PATCH, in_chans: int = 3):
        super().__init__()
        if input_size % patch or input_size <= 0:
            raise ValueError(f"ViT input_size must be a positive multiple of the patch size {patch}, "
                             f"got {input_size}")
        if dim % heads:
            raise ValueError(f"ViT width {dim} is not divisible by {heads} heads")
        self.input_size, self.patch, self.dim = input_size, patch, dim
        self.num_tokens = (input_size // patch) ** 2
        self.patch_embed = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_tokens, dim))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, dim_feedforward=int(dim * mlp_ratio), dropout=0.0,
                                       activation="gelu", layer_norm_eps=1e-6, batch_first=True,
                                       norm_first=True)
            for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self._init_weights()

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def heads(self) -> int:
        return self.layers[0].self_attn.num_heads

    def _init_weights(self) -> None:
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.patch_embed.weight, std=0.02)
        nn.init.zeros_(self.patch_embed.bias)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.MultiheadAttention):
                nn.init.trunc_normal_(m.in_proj_weight, std=0.02)
                nn.init.zeros_(m.in_proj_bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, T, D) output tokens after the final LayerNorm."""
        if x.ndim != 4 or x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(f"ViT built for (N, C, {self.input_size}, {self.input_size}) inputs, "
                             f"got {tuple(x.shape)}")
        t = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        for layer in self.layers:
            t = layer(t)
        return self.norm(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tokens(x).mean(dim=1)


def vit_encoder(input_size: int) -> ViT:
    return ViT(input_size=input_size, dim=VIT_WIDTH)


def vit_head(proj_dim: int, hidden: int) -> nn.Module:
    """The paper's "MLP head": Linear(D, hidden or D) -> ReLU -> Linear(., proj_dim), ViT init."""
    head = mlp(VIT_WIDTH, hidden or VIT_WIDTH, proj_dim)
    for m in head.modules():  # same init as the encoder's linears
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
    return head


VIT = Arch(name="vit", label="ViT", feature_dim=VIT_WIDTH, build=vit_encoder, default_head=vit_head,
           input_multiple=VIT_PATCH, fixed_input=True,  # one position embedding per token
           summary="ViT, 16x16 patches, width 256, 18 layers, 8 heads, mean of output tokens; "
                   "head 256-256-proj-dim")
