"""SSL methods by run-config name (`loss`), each with its own `loss-options`.

To add one: a module here defining an `SSLMethod` (its loss as a pure
function, its options, and a head when the architecture's default does not
fit), one line in `METHODS`, a preset and a test against a naive reference.
"""

from __future__ import annotations

from types import MappingProxyType

from .barlow_twins import BARLOW_TWINS
from .base import Option, OptionError, Options, SSLMethod, format_options, parse_pairs
from .simclr import SIMCLR
from .vicreg import VICREG

METHODS = MappingProxyType({m.name: m for m in (SIMCLR, BARLOW_TWINS, VICREG)})


def method(name: str) -> SSLMethod:
    if name not in METHODS:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


__all__ = ["METHODS", "Option", "OptionError", "Options", "SSLMethod", "format_options",
           "method", "parse_pairs"]
