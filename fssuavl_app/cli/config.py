"""`fssuavl-config`: every run-config key with its default, and a checker for TOML files.

Also the CLI side of run configs: `config_from_cli` merges an app's
pyproject defaults with `--run-config` overrides exactly as `flwr run` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..fl.faults import checked
from ..runs.config import ConfigError, RunConfig, app_defaults, describe_keys
from ..runs.presets import experiments


def config_from_cli(overrides: list[str] | None, app_dir: str | Path = ".") -> RunConfig:
    """What `flwr run APP --run-config ...` would give: the app's pyproject run config
    (package defaults when APP has none), then each override in order: a TOML file
    or a 'key=value key2="text"' string."""
    merged = app_defaults(app_dir)
    for item in overrides or []:
        merged.update(parse_override(item))
    return checked(RunConfig.from_run_config(merged))


def parse_override(item: str) -> dict:
    """One `--run-config` override as `flwr run` reads it (a TOML file, or a 'key=value
    key2="text"' string) as flat keys; ConfigError when it cannot be read."""
    from flwr.common.config import parse_config_args

    try:
        return parse_config_args([item]) if item.strip() else {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read run-config override {item!r}: {exc}") from exc
    except Exception as exc:  # click.ClickException for a malformed 'k=v' string
        raise ConfigError(f"cannot parse run-config override {item!r}: not 'key=value ...' as "
                          f"flwr run reads it ({exc}); quote text values: key='text'") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fssuavl-config",
        description="Run-config keys of the FSSUAVL Flower app. Override them with "
                    "`flwr run . --run-config 'key=value ...'` or a conf/*.toml file.",
        epilog=describe_keys(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", metavar="TOML", help="validate a run-config TOML file")
    parser.add_argument("--presets", action="store_true",
                        help="list the presets (run-config key `preset`)")
    args = parser.parse_args(argv)
    if args.presets:
        for stem, (ref, what, _) in experiments().items():
            print(f"  paper/{stem}, quick/{stem}: {ref}: {what}")
        return 0
    if not args.check:
        print(describe_keys())
        return 0
    import tomllib
    try:
        with open(args.check, "rb") as fh:
            cfg = checked(RunConfig.from_run_config(tomllib.load(fh)))
    except (OSError, tomllib.TOMLDecodeError, ConfigError) as exc:
        print(f"fssuavl-config: error: {args.check}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.check}: OK ({len(cfg.to_run_config())} keys)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
