"""fssuavl-partition manifests give a SuperNode exactly the simulation's shard."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from fssuavl_app.cli.partition import main as partition_main
from fssuavl_app.fl.runtime import WorkerRuntime, node_roots, partition_of
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.manifest import ManifestError, read_manifest, shard_from_manifest
from fssuavl_app.runs.sources import open_run_sources, partition_for

from .tiny import TINY

pytestmark = pytest.mark.integration

OVERRIDE = " ".join(f"{k}={v}" for k, v in TINY.items())


def test_manifests_equal_the_simulation_shards(tmp_path, capsys):
    out = tmp_path / "shards"
    args = ["--num-clients", "5", "--out", str(out), "--app", str(tmp_path),
            "--run-config", OVERRIDE, "--run-config", "frac-image-only=0.2 frac-audio-only=0.2"]
    assert partition_main(args) == 0
    printed = capsys.readouterr().out
    assert "5 clients" in printed and "client-0000.json" in printed
    # the printed hint pastes into flower-supernode as it is: Flower parses it as TOML
    from flwr.common.config import parse_config_args

    hint = re.search(r'--node-config "([^"]+)"', printed).group(1)
    assert parse_config_args([hint]) == {"data-path": str((out / "client-0000.json").resolve())}
    cfg = RunConfig.from_run_config({**TINY, "frac-image-only": 0.2, "frac-audio-only": 0.2})
    sources = open_run_sources(cfg)
    expected = partition_for(cfg, sources, 5)
    runtime = WorkerRuntime(cfg)
    summary = json.loads((out / "summary.json").read_text())
    assert [c["role"] for c in summary["clients"]] == [s.role for s in expected]
    for k, shard in enumerate(expected):
        path = out / f"client-{k:04d}.json"
        assert partition_of({"data-path": str(path)}) == (k, 5)
        pid, got = runtime.shard({"data-path": str(path)})
        assert pid == k and got.role == shard.role
        for m in ("image", "audio"):
            assert np.array_equal(got.indices(m), shard.indices(m))
        raw = json.loads(path.read_text())
        if shard.role == "image":
            assert raw["audio"]["ids"] == []  # an image-only client holds no audio
    assert (out / "summary.txt").read_text().startswith("Partition: 5 clients")


def test_existing_manifests_are_not_overwritten_without_force(tmp_path, capsys):
    args = ["--num-clients", "2", "--out", str(tmp_path), "--app", str(tmp_path),
            "--run-config", OVERRIDE]
    assert partition_main(args) == 0
    assert partition_main(args) == 2
    assert "already holds 2 client manifests" in capsys.readouterr().err
    assert partition_main(args + ["--force"]) == 0


def test_bad_settings_give_clear_errors(tmp_path, capsys):
    base = ["--out", str(tmp_path / "o"), "--app", str(tmp_path)]
    assert partition_main(base + ["--num-clients", "2", "--run-config", "no-such-key=1"]) == 2
    assert "unknown run-config key 'no-such-key'" in capsys.readouterr().err
    assert partition_main(base + ["--num-clients", "100000", "--run-config", OVERRIDE]) == 2
    assert "cannot give 100000 clients" in capsys.readouterr().err
    assert partition_main(base + ["--num-clients", "2", "--run-config",
                                  "image-dataset='cifar10' image-root='/nowhere'"]) == 2
    assert "/nowhere" in capsys.readouterr().err


def test_broken_or_foreign_manifests_are_refused(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not readable JSON"):
        read_manifest(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(ManifestError, match="not a client manifest"):
        read_manifest(tmp_path / "other.json")


def test_manifest_of_another_dataset_or_missing_items_is_refused(tmp_path):
    assert partition_main(["--num-clients", "2", "--out", str(tmp_path), "--app", str(tmp_path),
                           "--run-config", OVERRIDE]) == 0
    manifest = read_manifest(tmp_path / "client-0000.json")
    cfg = RunConfig.from_run_config(TINY)
    sources = open_run_sources(cfg)
    wrong = {**sources, "image": type("Other", (), {"name": "cifar10"})()}
    with pytest.raises(ManifestError, match="cifar10"):
        shard_from_manifest(manifest, wrong)
    smaller = open_run_sources(RunConfig.from_run_config({**TINY, "synthetic-train-per-class": 1}))
    with pytest.raises(ValueError, match="ids outside"):
        shard_from_manifest(manifest, smaller)


def test_node_config_roots_and_cli_help():
    assert node_roots({"image-root": "/data/img", "partition-id": 0}) == {"image": "/data/img"}
    for module in ("fssuavl_app.cli.partition", "fssuavl_app.cli.data"):
        out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                             text=True, check=True).stdout
        assert "usage:" in out


def test_manifests_with_repeated_or_foreign_ids_are_refused(tmp_path):
    assert partition_main(["--num-clients", "3", "--out", str(tmp_path), "--app", str(tmp_path),
                           "--run-config", OVERRIDE]) == 0
    path = tmp_path / "client-0001.json"
    raw = json.loads(path.read_text())
    repeated = {**raw, "image": {**raw["image"], "ids": raw["image"]["ids"][:1] * 50}}
    (tmp_path / "repeated.json").write_text(json.dumps(repeated))
    with pytest.raises(ManifestError, match="more than once"):
        read_manifest(tmp_path / "repeated.json")
    other = json.loads((tmp_path / "client-0002.json").read_text())
    foreign = {**raw, "image": other["image"], "audio": other["audio"]}
    (tmp_path / "foreign.json").write_text(json.dumps(foreign))
    runtime = WorkerRuntime(RunConfig.from_run_config(TINY))
    with pytest.raises(ManifestError, match="not those of partition 1"):
        runtime.shard({"data-path": str(tmp_path / "foreign.json")})
    assert runtime.shard({"data-path": str(path)})[0] == 1  # its own items: accepted


def test_the_server_knows_holdings_from_the_partition_summary(tmp_path, capsys):
    from fssuavl_app.fl.server import holdings_of
    from fssuavl_app.runs.config import ConfigError

    out = tmp_path / "shards"
    assert partition_main(["--num-clients", "4", "--out", str(out), "--app", str(tmp_path),
                           "--run-config", OVERRIDE, "--run-config", "frac-image-only=0.25"]) == 0
    cfg = RunConfig.from_run_config({**TINY, "frac-image-only": 0.25})
    shards = partition_for(cfg, open_run_sources(cfg), 4)
    from_partition = holdings_of(cfg, shards, 4)
    with_summary = RunConfig.from_run_config({**TINY, "frac-image-only": 0.25,
                                              "partition-summary": str(out / "summary.json")})
    assert holdings_of(with_summary, shards, 4) == from_partition
    image_only = [k for k, s in enumerate(shards) if s.role == "image"]
    assert image_only and all(from_partition[k]["audio"] == 0 < from_partition[k]["image"]
                              for k in image_only)
    with pytest.raises(ConfigError, match="lists 4 clients, the nodes report 5"):
        holdings_of(with_summary, shards, 5)


def test_the_missing_node_config_hint_pastes_into_flower_as_it_is():
    from flwr.common.config import parse_config_args

    with pytest.raises(ValueError, match="lacks 'partition-id'") as caught:
        partition_of({})
    hints = re.findall(r'--node-config "([^"]+)"', str(caught.value))
    assert len(hints) == 2  # the manifest form and the partition form
    assert parse_config_args([hints[0]]) == {"data-path": "<client manifest>"}
    filled = hints[1].replace("=K", "=0").replace("=N", "=2")
    assert parse_config_args([filled]) == {"partition-id": 0, "num-partitions": 2}


def test_force_keeps_the_old_manifests_until_the_new_partition_is_built(tmp_path, capsys):
    """--force deleted every client manifest first; a bad root then left none behind."""
    out, nowhere = tmp_path / "shards", tmp_path / "nowhere"
    base = ["--out", str(out), "--app", str(tmp_path), "--run-config", OVERRIDE]
    assert partition_main(["--num-clients", "3", *base]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert partition_main(["--num-clients", "2", *base, "--force", "--run-config",
                           f"image-dataset='cifar10' image-root='{nowhere}'"]) == 2
    assert str(nowhere) in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert partition_main(["--num-clients", "2", *base, "--force"]) == 0  # fewer clients
    assert sorted(p.name for p in out.glob("client-*.json")) == ["client-0000.json",
                                                                  "client-0001.json"]
    assert json.loads((out / "summary.json").read_text())["num-clients"] == 2
    never = tmp_path / "never"
    assert partition_main(["--num-clients", "2", "--out", str(never), "--app", str(tmp_path),
                           "--run-config", f"image-dataset='cifar10' image-root='{nowhere}'"]) == 2
    assert not never.exists()  # a failed call leaves no empty folder
    (tmp_path / "a-file").write_text("x")
    assert partition_main(["--num-clients", "2", "--out", str(tmp_path / "a-file"),
                           *base[2:]]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert partition_main(["--num-clients", "2", "--out", str(tmp_path / "a-file" / "sub"),
                           *base[2:]]) == 2  # was a traceback
    assert "fssuavl-partition: error:" in capsys.readouterr().err
    assert (out / "summary.json").is_file() and (out / "summary.txt").is_file()


def test_the_readers_notes_are_printed(tmp_path, capsys):
    """fssuavl-partition said nothing of files the readers left out (flwr run logs them)."""
    from .layouts_images import write_image_folder

    root = write_image_folder(tmp_path, per_class=8)
    assert partition_main(["--num-clients", "2", "--out", str(tmp_path / "o"), "--app",
                           str(tmp_path), "--run-config", OVERRIDE, "--run-config",
                           f"image-dataset='image-folder' image-root='{root}'"]) == 0
    printed = capsys.readouterr().out
    assert ("note: image-folder: " + f"{root}: 1 image file directly in the root, in no class "
            "folder, skipped (first: loose.png)") in printed
