"""`fssuavl-partition`: write every client's shard of a partition to a folder.

Same logic and seed as the simulation: client k's manifest lists exactly the
items that virtual client k trains on in `flwr run` with the same run config.
Start each SuperNode with `--node-config "data-path='<OUT>/client-000k.json'"` (the quotes
around the path are needed: Flower reads node-config values as TOML).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data import DatasetLayoutError, PartitionError, Source, summarize
from ..runs.config import ConfigError
from ..runs.files import write_atomic, write_json_atomic
from ..runs.manifest import manifest_dict
from ..runs.sources import index_note_lines, open_run_sources, partition_for
from .args import at_least
from .config import config_from_cli


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fssuavl-partition", description=__doc__.split("\n\n")[0],
        epilog="Example: fssuavl-partition --num-clients 3 --out shards --run-config "
               "\"image-dataset='fashion-mnist' image-root='/usr/share/datasets/fashion-mnist'\"",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-clients", type=at_least(1), required=True,
                        help="number of clients (SuperNodes) in the federation")
    parser.add_argument("--out", required=True, help="folder for client-NNNN.json and summary")
    parser.add_argument("--run-config", action="append", default=[], metavar="TOML|'k=v ...'",
                        help="run-config overrides, as for `flwr run` (repeatable, in order)")
    parser.add_argument("--app", default=".", help="app folder whose pyproject.toml gives the "
                        "default run config (default: .; package defaults if it has none)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite manifests already in --out")
    return parser.parse_args(argv)


def manifests_in(out: Path, force: bool) -> list[Path]:
    """The client manifests already in `out`; without `force` there must be none."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    existing = sorted(out.glob("client-*.json")) if out.is_dir() else []
    if existing and not force:
        raise FileExistsError(f"{out} already holds {len(existing)} client manifests; "
                              "choose another --out or pass --force")
    return existing


def write_partition(cfg, sources: dict[str, Source], num_clients: int, out: Path,
                    force: bool = False) -> list[Path]:
    """Write client-NNNN.json for every client plus summary.txt / summary.json; their paths.

    Everything is computed before `out` is touched: a config or dataset that
    fails leaves manifests already there as they were. With `force`, old
    manifests the new partition does not rewrite (it has fewer clients) are removed.
    """
    existing = manifests_in(out, force)
    shards = partition_for(cfg, sources, num_clients)
    width = max(4, len(str(num_clients - 1)))
    names = [f"client-{pid:0{width}d}.json" for pid in range(num_clients)]
    manifests = [manifest_dict(shard, pid, num_clients, cfg, sources)
                 for pid, shard in enumerate(shards)]
    text = summarize(shards, {m: s.labels("train") for m, s in sources.items()},
                     cfg.dirichlet_alpha)
    summary = {"num-clients": num_clients, "run-config": cfg.to_run_config(),
               "clients": [{"partition-id": k, "role": s.role, "manifest": name,
                            **{f"num-{m}": len(s.indices(m)) for m in sources}}
                           for k, (s, name) in enumerate(zip(shards, names))]}
    out.mkdir(parents=True, exist_ok=True)
    # A write stopped midway leaves no summary: the server refuses a partition summary that
    # is missing, so a mix of new and old manifests is never taken for either partition.
    for stale in (out / "summary.json", out / "summary.txt"):
        stale.unlink(missing_ok=True)
    paths = [out / name for name in names]
    for path, manifest in zip(paths, manifests):
        write_json_atomic(path, manifest)
    for old in set(existing) - set(paths):
        old.unlink()
    write_atomic(out / "summary.txt", (text + "\n").encode())
    write_json_atomic(out / "summary.json", summary)
    return paths


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = config_from_cli(args.run_config, args.app)
        if args.num_clients < 1:
            raise PartitionError("--num-clients must be at least 1")
        out = Path(args.out)
        manifests_in(out, args.force)  # before the datasets are read
        sources = open_run_sources(cfg)
        paths = write_partition(cfg, sources, args.num_clients, out, args.force)
    except (ConfigError, DatasetLayoutError, PartitionError, FileExistsError) as exc:
        print(f"fssuavl-partition: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder that cannot be made or written, a disk that is full
        print(f"fssuavl-partition: error: cannot write the partition to {args.out}: {exc}; "
              "run it again once that is fixed (no summary is left until it succeeds)",
              file=sys.stderr)
        return 2
    for line in index_note_lines(sources):  # what the readers left out, as `flwr run` logs
        print(f"note: {line}")
    print((Path(args.out) / "summary.txt").read_text(), end="")
    print(f"Wrote {len(paths)} client manifests to {Path(args.out).resolve()} "
          f"({paths[0].name} .. {paths[-1].name}) and summary.txt / summary.json.")
    print("Start SuperNode k with its own manifest, e.g. for client 0: flower-supernode ... "
          f"--node-config \"data-path='{paths[0].resolve()}'\"")
    return 0


if __name__ == "__main__":
    sys.exit(main())
