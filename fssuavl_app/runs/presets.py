"""Every paper experiment as a preset: conf/paper/*.toml and conf/quick/*.toml are written
from here by `python conf/presets.py` (tests check the files are in sync).

A paper preset holds the paper's scale (section 3.4: 100 rounds, 10% of the
clients per round, 5 local epochs, batch 256, 128x128 inputs) plus the
method's settings; it names no dataset: give the data in the same command
(`preset='paper/NAME' image-dataset=... image-root=...`). Its quick twin has
the same method settings at a CPU-sized scale on the built-in data, its cpu
twin at a CPU-sized scale for real data (`preset='cpu/NAME'`, not written to
conf/). `TARGETS` says which presets each table and figure needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

PAPER_SCALE = MappingProxyType({"num-server-rounds": 100, "fraction-train": 0.1, "local-epochs": 5,
               "batch-size": 256, "input-size": 128, "lr": 0.03, "weight-decay": 0.0001,
               "dirichlet-alpha": 0.1, "eval-every": 10, "partition-mode": "paper",
               "image-views": "viewmaker", "audio-views": "paper", "knn-max-samples": 0})
QUICK_SCALE = MappingProxyType({"num-server-rounds": 10, "fraction-train": 0.1, "local-epochs": 2,
               "batch-size": 16, "input-size": 32, "lr": 0.03, "weight-decay": 0.0001,
               "dirichlet-alpha": 0.5, "eval-every": 5, "partition-mode": "paper",
               "image-views": "viewmaker", "audio-views": "paper"})
# A CPU-sized scale for real data (the README's fidelity report): 10 clients, half of them per
# round, one local epoch, 32x32; about 2 minutes a run on 2 cores. 15 rounds, not 5: after 5
# rounds no method beat the untrained encoder on the fidelity data's kNN (measured, 3 seeds).
CPU_SCALE = MappingProxyType({"num-server-rounds": 15, "fraction-train": 0.5, "local-epochs": 1,
               "batch-size": 32, "input-size": 32, "lr": 0.03, "weight-decay": 0.0001,
               "dirichlet-alpha": 0.5, "eval-every": 5, "partition-mode": "paper",
               "image-views": "viewmaker", "audio-views": "paper", "knn-max-samples": 0})
# scale -> its keys and the number of clients (num-supernodes) it is meant for
SCALES = MappingProxyType({
    "quick": MappingProxyType({"keys": QUICK_SCALE, "clients": 100}),
    "cpu": MappingProxyType({"keys": CPU_SCALE, "clients": 10}),
    "paper": MappingProxyType({"keys": PAPER_SCALE, "clients": 100}),
})
ARCHS = MappingProxyType({"r18": "resnet18", "vit": "vit"})
METHODS = MappingProxyType({  # name: (what, image-only share, audio-only share)
    "fssuavl": ("FSSUAVL: every client holds unpaired images and audio", 0.0, 0.0),
    "fvssl": ("FVSSL: image-only expert, every client image-only", 1.0, 0.0),
    "fassl": ("FASSL: audio-only expert, every client audio-only", 0.0, 1.0),
    "model-comb": ("Model-Comb: 50% image-only, 50% audio-only, none with both", 0.5, 0.5),
    "fssuavl-333": ("FSSUAVL 33/33/33: a third image-only, a third audio-only, the rest both",
                    0.33, 0.33),
})
FIG4_SHARES = (0, 10, 30, 50, 70, 100)  # % of clients that hold both modalities
ARCH_TAGS = ("r18", "vit")
# target -> (the presets it needs, the method a row is compared against: {row: partner})
TARGETS = MappingProxyType({
    "table2": ("Table 2 (vision)", ("fssuavl-{a}-simclr", "fvssl-{a}-simclr"),
               {"fssuavl-{a}-simclr": "fvssl-{a}-simclr"}),
    "table3": ("Table 3 (audio)", ("fssuavl-{a}-simclr", "fassl-{a}-simclr"),
               {"fssuavl-{a}-simclr": "fassl-{a}-simclr"}),
    "table4": ("Table 4 (audio-visual transfer, L.P / F.T)",
               ("fssuavl-{a}-simclr", "fvssl-{a}-simclr", "fassl-{a}-simclr"),
               {"fssuavl-{a}-simclr": "fvssl-{a}-simclr"}),
    "table5": ("Table 5 (audio-visual kNN)",
               ("fssuavl-{a}-simclr", "fvssl-{a}-simclr", "fassl-{a}-simclr"),
               {"fssuavl-{a}-simclr": "fvssl-{a}-simclr"}),
    "table6": ("Table 6 (Model-Comb)", ("model-comb-{a}-simclr", "fssuavl-333-{a}-simclr"),
               {"fssuavl-333-{a}-simclr": "model-comb-{a}-simclr"}),
    "table7": ("Table 7 (SimCLR vs Barlow Twins)",
               ("t7-fssuavl-333-{a}-simclr-e1", "t7-fssuavl-333-{a}-barlow-twins-e1"),
               {"t7-fssuavl-333-{a}-barlow-twins-e1": "t7-fssuavl-333-{a}-simclr-e1"}),
    "figure4": ("Figure 4 (share of clients holding both modalities)",
                tuple(f"fig4{s}-r18-{what}-on-{p:03d}pct" for s, what in
                      (("a", "audio"), ("b", "images")) for p in FIG4_SHARES), {}),
    "figure4a": ("Figure 4a (images on every client, audio on a share of them)",
                 tuple(f"fig4a-r18-audio-on-{p:03d}pct" for p in FIG4_SHARES), {}),
    "figure4b": ("Figure 4b (audio on every client, images on a share of them)",
                 tuple(f"fig4b-r18-images-on-{p:03d}pct" for p in FIG4_SHARES), {}),
})



def experiments() -> dict[str, tuple[str, str, dict]]:
    """{file stem: (paper reference, description, method keys)}."""
    out = {}
    for arch_tag, arch in ARCHS.items():
        for name, (what, img, aud) in METHODS.items():
            ref = "Table 6" if name in ("model-comb", "fssuavl-333") else "Tables 2-5"
            out[f"{name}-{arch_tag}-simclr"] = (ref, what, {
                "arch": arch, "loss": "simclr", "frac-image-only": img, "frac-audio-only": aud})
        for loss in ("simclr", "barlow-twins"):
            out[f"t7-fssuavl-333-{arch_tag}-{loss}-e1"] = (
                "Table 7", f"FSSUAVL 33/33/33 with {loss}, 1 local epoch per round", {
                    "arch": arch, "loss": loss, "frac-image-only": 0.33, "frac-audio-only": 0.33,
                    "local-epochs": 1})
    out["fssuavl-r18-vicreg"] = ("Beyond the paper", "FSSUAVL with VICReg (core/methods/vicreg.py)",
                                 {"arch": "resnet18", "loss": "vicreg", "frac-image-only": 0.0,
                                  "frac-audio-only": 0.0})
    for p in FIG4_SHARES:
        out[f"fig4a-r18-audio-on-{p:03d}pct"] = (
            "Figure 4a", f"images on every client; audio added to {p}% of them", {
                "arch": "resnet18", "loss": "simclr", "frac-image-only": round(1 - p / 100, 2),
                "frac-audio-only": 0.0})
        out[f"fig4b-r18-images-on-{p:03d}pct"] = (
            "Figure 4b", f"audio on every client; images added to {p}% of them", {
                "arch": "resnet18", "loss": "simclr", "frac-image-only": 0.0,
                "frac-audio-only": round(1 - p / 100, 2)})
    return out


def toml_value(value: bool | int | float | str) -> str:
    """`value` as TOML writes it (a conf/*.toml line's value, or a `flwr run --run-config`
    'key=value' string's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: the same escapes as JSON's
    return repr(value)


def render(stem: str, scale: dict, quick: bool) -> str:
    ref, what, keys = experiments()[stem]
    merged = {**scale, **keys}
    if quick:
        head = [f"# {ref} (quick variant on the built-in data): {what}.",
                f"#   flwr run . --stream --run-config conf/quick/{stem}.toml \\",
                '#     --federation-config "num-supernodes=100 client-resources-num-cpus=1"']
    else:
        head = [f"# {ref}: {what}. The paper's scale (section 3.4).",
                "# Datasets come from the app's run config (image-dataset / image-root /",
                "# audio-dataset / audio-root in pyproject.toml).",
                f"#   flwr run . --stream --run-config conf/paper/{stem}.toml \\",
                '#     --federation-config "num-supernodes=100 client-resources-num-gpus=0.1"']
    head.append("# Written by conf/presets.py from fssuavl_app/runs/presets.py; edit that, not this.")
    return "\n".join(head + [f"{k} = {toml_value(v)}" for k, v in merged.items()]) + "\n"


def preset_names() -> list[str]:
    """Every preset as `<scale>/<stem>` (paper, quick or cpu)."""
    return [f"{scale}/{stem}" for scale in SCALES for stem in experiments()]


def preset_values(name: str) -> dict:
    """The run-config keys of preset `name` (`paper/<stem>`, `quick/<stem>` or `cpu/<stem>`);
    ValueError naming the presets when there is no such preset."""
    scale, _, stem = name.partition("/")
    found = experiments().get(stem)
    if scale not in SCALES or found is None:
        raise ValueError(f"no preset {name!r}; presets are <scale>/<name> with <scale> one of "
                         f"{', '.join(SCALES)} and <name> one of {', '.join(experiments())}")
    return {**SCALES[scale]["keys"], **found[2]}


def expected_files(conf_dir: Path) -> dict[Path, str]:
    """{path under conf_dir: text} of every preset file."""
    files = {}
    for stem in experiments():
        files[conf_dir / "paper" / f"{stem}.toml"] = render(stem, PAPER_SCALE, quick=False)
        files[conf_dir / "quick" / f"{stem}.toml"] = render(stem, QUICK_SCALE, quick=True)
    return files


def write_presets(conf_dir: Path) -> int:
    """Write every preset file under `conf_dir`; the number written."""
    files = expected_files(conf_dir)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return len(files)
