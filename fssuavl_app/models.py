"""Encoders plus projection head; `build_model(ModelArgs)` is the only constructor.

`SSLModel.features(x)` gives the representation every evaluation uses
(ResNet-18: the 512-d globally average-pooled output of layer4; ViT: the
256-d mean of the output tokens after the final LayerNorm, as SSAST's
`finetuningavgtok`, which the paper follows); `SSLModel(x)` gives the
projection used by the SSL loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torchvision
from torch import nn

FEATURE_DIMS = {"resnet18": 512, "vit": 256}
VIT_PATCH = 16


@dataclass(frozen=True)
class ModelArgs:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    arch: str = "resnet18"
    proj_dim: int = 128
    # 0: ResNet-18 gets a single linear layer (as L-DAWA/Viewmaker, which the paper follows);
    #    the ViT gets Linear(D, D) -> ReLU -> Linear(D, proj_dim) (the paper's "MLP head").
    proj_hidden_dim: int = 0
    input_size: int = 128

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, cfg) -> "ModelArgs":
        """The model arguments of a `config.RunConfig`."""
        return cls(arch=cfg.arch, proj_dim=cfg.proj_dim, proj_hidden_dim=cfg.proj_hidden_dim,
                   input_size=cfg.input_size)


class SSLModel(nn.Module):
    """encoder: (N, 3, S, S) -> (N, D) features; head: (N, D) -> (N, proj_dim)."""

    def __init__(self, encoder: nn.Module, head: nn.Module, args: ModelArgs):
        super().__init__()
        self.encoder, self.head, self.args = encoder, head, args

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def _resnet18() -> nn.Module:
    net = torchvision.models.resnet18(weights=None)  # standard stem, adaptive average pooling
    net.fc = nn.Identity()
    return net


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


def _head(in_dim: int, hidden: int, out_dim: int) -> nn.Module:
    if hidden == 0:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))


def build_model(args: ModelArgs) -> SSLModel:
    if args.arch not in FEATURE_DIMS:
        raise ValueError(f"unknown arch {args.arch!r}; known: {', '.join(FEATURE_DIMS)}")
    dim = FEATURE_DIMS[args.arch]
    if args.arch == "vit":
        if args.input_size <= 0 or args.input_size % VIT_PATCH:
            raise ValueError(f"arch 'vit' needs input_size to be a positive multiple of {VIT_PATCH} "
                             f"(the patch size), got {args.input_size}")
        encoder = ViT(input_size=args.input_size, dim=dim)
        head = _head(dim, args.proj_hidden_dim or dim, args.proj_dim)
        for m in head.modules():  # same init as the encoder's linears
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        return SSLModel(encoder, head, args)
    return SSLModel(_resnet18(), _head(dim, args.proj_hidden_dim, args.proj_dim), args)
