"""An SSL method: its loss, its projection head and its own options.

Options are set with the run-config key `loss-options` ("name=value ...",
spaces or commas between pairs); each is typed, range-checked and has a
default, so `loss-options = ""` means the method's defaults. Options marked
`shapes_head` change the head's shape and are stored with the model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch import nn

from ..archs import Arch

Options = Mapping[str, Any]
LossFn = Callable[[torch.Tensor, torch.Tensor, Options], torch.Tensor]
HeadFn = Callable[[Arch, int, int, Options], nn.Module]


class OptionError(ValueError):
    """A loss option that is unknown, malformed or out of range."""


@dataclass(frozen=True)
class Option:
    name: str
    default: float | int
    help: str
    lo: float | None = None
    hi: float | None = None
    shapes_head: bool = False

    def parse(self, method: str, text: str) -> float | int:
        want = type(self.default)
        try:
            value = want(float(text)) if want is float else int(text)
        except ValueError as exc:
            raise OptionError(f"loss {method!r} option {self.name!r}: {text!r} is not "
                              f"{want.__name__}") from exc
        if not math.isfinite(value):
            raise OptionError(f"loss {method!r} option {self.name!r} is {value}; it must be a "
                              "finite number")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise OptionError(f"loss {method!r} option {self.name!r} is {value}; allowed range "
                              f"[{'' if self.lo is None else self.lo}, "
                              f"{'' if self.hi is None else self.hi}]")
        return value


def default_head(arch: Arch, proj_dim: int, proj_hidden_dim: int, options: Options) -> nn.Module:
    """The architecture's own projection head (`proj-dim`, `proj-hidden-dim`)."""
    return arch.default_head(proj_dim, proj_hidden_dim)


@dataclass(frozen=True)
class SSLMethod:
    """`loss(z1, z2, options)`: scalar loss of two views' projections (N, D) each, fp32."""

    name: str
    label: str  # in tables, as the paper writes it
    summary: str
    loss: LossFn
    options: tuple[Option, ...] = ()
    head: HeadFn = default_head
    min_batch: int = 2  # a client's last batch smaller than this joins the one before
    def resolve(self, text: str | Options = "") -> dict[str, Any]:
        """Every option's value: `text` ("a=1 b=2") or a mapping over the defaults."""
        given = parse_pairs(text) if isinstance(text, str) else {k: str(v) for k, v in text.items()}
        by_name = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(by_name))
        if unknown:
            known = ", ".join(by_name) or "none"
            raise OptionError(f"loss {self.name!r} has no option {unknown[0]!r} (its options: "
                              f"{known})")
        return {o.name: o.parse(self.name, given[o.name]) if o.name in given else o.default
                for o in self.options}

    def head_options(self, options: Options) -> tuple[tuple[str, Any], ...]:
        """The options that shape the head, as sorted pairs (stored in `ModelArgs`)."""
        return tuple(sorted((o.name, options[o.name]) for o in self.options if o.shapes_head))

    def build_head(self, arch: Arch, proj_dim: int, proj_hidden_dim: int,
                   head_options: Options) -> nn.Module:
        return self.head(arch, proj_dim, proj_hidden_dim, self.resolve(dict(head_options)))

    def describe(self) -> str:
        lines = [f"  {self.name}: {self.summary}"]
        lines += [f"      {o.name} = {o.default!r}: {o.help}" for o in self.options]
        return "\n".join(lines)


def parse_pairs(text: str) -> dict[str, str]:
    """'a=1 b=2' or 'a=1, b=2' -> {"a": "1", "b": "2"}; OptionError on anything else."""
    pairs = {}
    for part in filter(None, re.split(r"[\s,]+", text.strip())):
        name, sep, value = part.partition("=")
        if not sep or not name or not value:
            raise OptionError(f"loss-options part {part!r}: expected name=value")
        if name in pairs:
            raise OptionError(f"loss-options names {name!r} twice")
        pairs[name] = value
    return pairs


def format_options(options: Options) -> str:
    """The canonical 'a=1 b=2' text of resolved options (sorted by name)."""
    return " ".join(f"{k}={v!r}" for k, v in sorted(options.items()))
