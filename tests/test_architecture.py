"""The package's layers as the README draws them, checked on the source (an AST walk).

Imports point down only (core <- data <- runs <- evaluate <- fl <- cli <-
the Flower entry points); Flower is imported by `fl`, `cli` and the entry
points alone; no process-wide caches or mutable module state; outside
`core/`, no code compares against a modality's name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fssuavl_app.core.modalities import NAMES

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[1] / "fssuavl_app"
RANKS = {"core": 0, "data": 1, "runs": 2, "evaluate": 3, "fl": 4, "cli": 5}
ENTRY = 6  # client_app.py, server_app.py, __init__.py
NO_FLOWER = ("core", "data", "runs", "evaluate")
MUTABLE_CALLS = {"list", "dict", "set", "defaultdict", "OrderedDict", "Counter", "deque"}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def layer_of(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def rank(layer: str | None) -> int:
    return RANKS.get(layer, ENTRY)


def imported_layers(path: Path, tree: ast.Module) -> list[tuple[str | None, str]]:
    """(layer, module text) of every import of the package from `path`."""
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            else:
                target = (node.module or "").split(".")
            names = [target] if node.module else [[*target, a.name] for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        else:
            continue
        for t in names:
            if t and t[0] == "fssuavl_app":
                layer = t[1] if len(t) > 2 or (len(t) == 2 and t[1] in RANKS) else None
                found.append((layer, ".".join(t)))
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    tree = ast.parse(path.read_text())
    own = layer_of(path)
    for layer, text in imported_layers(path, tree):
        assert rank(layer) <= rank(own), f"{path.name} ({own}) imports {text} ({layer})"
    if own in NO_FLOWER:
        flower = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                  and any(name.split(".")[0] == "flwr" for name in
                          ([a.name for a in n.names] if isinstance(n, ast.Import)
                           else [n.module or ""]))]
        assert not flower, f"{path} ({own}) imports Flower"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_process_wide_caches_or_mutable_module_state(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                name = ast.unparse(dec)
                assert "lru_cache" not in name and "functools.cache" not in name \
                    and name != "cache", f"{path}:{node.lineno} caches {node.name} process-wide"
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                continue
            value = node.value
            mutable = isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp,
                                         ast.DictComp, ast.SetComp))
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
                mutable |= value.func.id in MUTABLE_CALLS
            assert not mutable, f"{path}:{node.lineno}: mutable module-level state " \
                                f"({ast.unparse(node)[:60]}); use a tuple or MappingProxyType"


def _mentions_modality(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_mentions_modality(e) for e in node.elts)
    return False


@pytest.mark.parametrize("path", [p for p in modules() if layer_of(p) != "core"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_comparison_against_a_modality_name_outside_core(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            assert not any(_mentions_modality(p) for p in parts), \
                f"{path}:{node.lineno}: compares with a modality name: {ast.unparse(node)}; " \
                "iterate over core.modalities.MODALITIES instead"


def test_the_walk_sees_every_layer():
    assert {layer_of(p) for p in modules()} >= set(RANKS)
