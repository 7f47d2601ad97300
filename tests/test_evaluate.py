"""fssuavl-evaluate on real checkpoint files and fixture datasets in their published layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fssuavl_app.cli.evaluate import main
from fssuavl_app.core.audio_frontend import AudioSpec
from fssuavl_app.core.inputs import InputPipeline
from fssuavl_app.core.modalities.audio import Waves
from fssuavl_app.core.models import build_model
from fssuavl_app.evaluate.features import with_bn_stats_from
from fssuavl_app.evaluate.runner import (Encoders, SplitInputs, feature_models, knn_fused,
                                         load_split)
from fssuavl_app.evaluate.tasks import TaskError, open_tasks, pair_by_label
from fssuavl_app.runs.checkpoint import save_checkpoint
from fssuavl_app.runs.config import RunConfig

from .layouts_audio import write_esc50, write_fsdd
from .layouts_epic_advance import write_advance
from .layouts_images import write_cifar10, write_image_folder, write_mnist_idx
from .test_knn import brute_force_scores
from .tiny import TINY

pytestmark = pytest.mark.integration

FAST = ["--epochs", "1", "--knn-k", "10", "--batch-size", "16"]


def write_run(run_dir: Path, rounds=(0, 1, 2), seed_offset: int = 0) -> Path:
    """A run directory in the ServerApp's format (tiny ResNet-18 per round)."""
    cfg = RunConfig.from_run_config(TINY)
    run_dir.mkdir(parents=True, exist_ok=True)
    for r in rounds:
        torch.manual_seed(r + seed_offset)
        model = build_model(cfg.model_args())
        save_checkpoint(run_dir, r, model.state_dict(), model.args, AudioSpec(),
                        cfg.to_run_config(), {"round": r})
    return run_dir


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("data")
    return {"cifar10": write_cifar10(tmp), "advance": write_advance(tmp),
            "mnist": write_mnist_idx(tmp, n_train=30, n_test=20), "fsdd": write_fsdd(tmp).root,
            "esc50": write_esc50(tmp).root}


def _results(out: Path) -> list[dict]:
    return json.loads((out / "results.json").read_text())["results"]


def test_run_directory_sweep_all_protocols_and_modes(tmp_path, data, capsys):
    run = write_run(tmp_path / "my-run")
    out = tmp_path / "eval"
    rc = main([str(run), "--rounds", "all", "--out", str(out), *FAST, "--tsne",
               "--protocol", "knn", "linear", "finetune",
               "--task", f"cifar10={data['cifar10']}", "--task", f"fsdd={data['fsdd']}",
               "--task", f"advance={data['advance']}",
               "--task", f"mnist+fsdd={data['mnist']},{data['fsdd']}"])
    assert rc == 0
    results = _results(out)
    got = {(r["task"], r["protocol"], r["mode"], r["round"]) for r in results}
    for rnd in (0, 1, 2):
        for proto in ("knn", "linear", "finetune"):
            assert ("cifar10", proto, "V", rnd) in got and ("fsdd", proto, "A", rnd) in got
            for task in ("advance", "mnist+fsdd"):
                assert {(task, proto, m, rnd) for m in ("A+V", "V", "A")} <= got
    assert all(0.0 <= r["top1"] <= 1.0 and r["checkpoint"].endswith(f"round-{r['round']:04d}.json")
               for r in results)
    table = (out / "results.md").read_text()
    assert "| Method | Arch. | Round | KNN cifar10 (V) | KNN fsdd (A) | KNN Avg." in table
    assert "L.P advance A+V" in table and "F.T mnist+fsdd A" in table
    assert "| my-run | resnet18-half | 2 |" in table and table in capsys.readouterr().out
    for png in ("knn-over-rounds.png", "tsne-my-run-round2.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mnist_fsdd_pairs_same_digit_and_fused_knn_matches_brute_force(data):
    task = open_tasks(f"mnist+fsdd={data['mnist']},{data['fsdd']}", TINY)[0]
    for split in ("train", "test"):
        img = task.sources["image"].labels(split)[task.rows[split]["image"]]
        aud = task.sources["audio"].labels(split)[task.rows[split]["audio"]]
        assert np.array_equal(img, aud) and np.array_equal(aud, task.labels[split])
    assert np.array_equal(pair_by_label(np.array([0, 1, 1, 0]), np.array([1, 1, 0]), 0),
                          pair_by_label(np.array([0, 1, 1, 0]), np.array([1, 1, 0]), 0))
    g = torch.Generator().manual_seed(0)
    tr = {"image": torch.randn(30, 4, generator=g), "audio": 5 * torch.randn(30, 3, generator=g)}
    te = {"image": torch.randn(7, 4, generator=g), "audio": torch.randn(7, 3, generator=g)}
    tr_lab, te_lab = torch.randint(0, 3, (30,), generator=g), torch.randint(0, 3, (7,), generator=g)
    got = knn_fused(tr, tr_lab, te, te_lab, 3, k=5, t=0.1)
    cat = lambda d: torch.cat([F.normalize(d["audio"], dim=1), F.normalize(d["image"], dim=1)], 1)
    want = brute_force_scores(cat(te), cat(tr), tr_lab, 3, 5, 0.1).argmax(1)
    assert got[1] == pytest.approx((want == te_lab).double().mean().item())


def test_two_checkpoints_route_each_modality_through_its_own(tmp_path, data):
    vis, aud = write_run(tmp_path / "fvssl", (3,)), write_run(tmp_path / "fassl", (3,), 100)
    task = ["--task", f"advance={data['advance']}", *FAST]
    assert main([str(vis), "--audio-checkpoint", str(aud), "--out", str(tmp_path / "both"),
                 *task]) == 0
    assert main([str(vis), "--out", str(tmp_path / "v"), *task]) == 0
    assert main([str(aud), "--out", str(tmp_path / "a"), *task]) == 0
    both, only_v, only_a = (_results(tmp_path / d) for d in ("both", "v", "a"))
    pick = lambda rs, mode: next(r["top1"] for r in rs if r["mode"] == mode)
    assert pick(both, "V") == pick(only_v, "V") and pick(both, "A") == pick(only_a, "A")
    assert both[0]["method"] == "fvssl + fassl"
    assert both[0]["checkpoint"]["audio"].startswith(str(aud))


def test_esc50_folds_are_averaged_in_the_table(tmp_path, data):
    run = write_run(tmp_path / "r", (0,))
    assert main([str(run), "--out", str(tmp_path / "o"), "--task", f"esc50={data['esc50']}",
                 *FAST]) == 0
    assert {r["task"] for r in _results(tmp_path / "o")} == {f"esc50-fold{k}" for k in range(1, 6)}
    assert "KNN esc50 (5-fold) (A)" in (tmp_path / "o" / "results.md").read_text()


def test_bad_inputs_stop_before_any_work(tmp_path, data, capsys):
    run = write_run(tmp_path / "r", (0, 1))
    out = tmp_path / "never"
    cases = {
        "no checkpoint (round-NNNN.json)": [str(tmp_path)],
        "missing-root": [str(run), "--task", f"cifar10={tmp_path / 'missing-root'}"],
        "unknown task 'imagenet-21k'": [str(run), "--task", "imagenet-21k=/x"],
        "no checkpoint for round(s) [7]": [str(run), "--rounds", "7"],
        "'synthetic-shapes' is built in and takes no root":  # was: the root ignored
            [str(run), "--task", f"synthetic-shapes={tmp_path}"],
        "'synthetic-shapes' given more than once":  # was: evaluated twice, one row shown
            [str(run), "--task", "synthetic-shapes", "--task", "synthetic-shapes"],
    }
    for message, argv in cases.items():
        argv = argv if "--task" in argv else [*argv, "--task", "synthetic-shapes"]
        assert main([*argv, "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "round-0001.safetensors").write_bytes((run / "round-0001.safetensors").read_bytes())
    assert main([str(lone / "round-0001.safetensors"), "--task", "synthetic-shapes",
                 "--out", str(out)]) == 2
    assert "weights without their round-0001.json" in capsys.readouterr().err
    weights = run / "round-0001.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert main([str(run), "--rounds", "all", "--task", "synthetic-shapes", "--out", str(out)]) == 2
    assert "truncated or replaced" in capsys.readouterr().err


def test_an_out_folder_that_cannot_be_made_is_a_clear_error(tmp_path, capsys):
    run = write_run(tmp_path / "r", (0,))
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    for out, says in ((blocked, "a file of that name is in the way"),
                      (blocked / "below", "cannot create the folder")):  # was: a traceback
        assert main([str(run), "--task", "synthetic-shapes", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("fssuavl-evaluate: error: --out: cannot create") and says in err
    meta = json.loads((run / "round-0000.json").read_text())
    meta["model_args"]["arch"] = "vit-huge"
    (run / "round-0000.json").write_text(json.dumps(meta))
    assert main([str(run / "round-0000.json"), "--task", "synthetic-shapes",
                 "--out", str(out)]) == 2
    assert "'vit-huge' is not one this version can rebuild" in capsys.readouterr().err
    vit_cfg = RunConfig.from_run_config({**TINY, "arch": "vit"})
    vit = build_model(vit_cfg.model_args())
    (tmp_path / "vit").mkdir()
    save_checkpoint(tmp_path / "vit", 1, vit.state_dict(), vit.args, AudioSpec(),
                    vit_cfg.to_run_config(), {})
    # before: decoded the task, then a ValueError traceback inside the ViT
    assert main([str(tmp_path / "vit"), "--input-size", "48", "--task", "synthetic-shapes",
                 "--out", str(out)]) == 2
    assert "serves only the 32x32 inputs it was trained at; 48x48" in capsys.readouterr().err
    # an audio ViT at 32 behind an image checkpoint at 48: one pipeline, one size
    wide = RunConfig.from_run_config({**TINY, "input-size": 48})
    resnet = build_model(wide.model_args())
    (tmp_path / "wide").mkdir()
    save_checkpoint(tmp_path / "wide", 1, resnet.state_dict(), resnet.args, AudioSpec(),
                    wide.to_run_config(), {})
    assert main([str(tmp_path / "wide"), "--audio-checkpoint", str(tmp_path / "vit"),
                 "--task", "synthetic-shapes", "--out", str(out)]) == 2
    assert "serves only the 32x32 inputs it was trained at; 48x48" in capsys.readouterr().err
    assert not out.exists()


def test_aliases_and_pairs_of_any_image_and_audio_folder(tmp_path):
    from PIL import Image
    import soundfile as sf

    for split, n in (("train", 3), ("test", 2)):
        for digit in ("0", "1"):
            (tmp_path / "img" / split / digit).mkdir(parents=True)
            (tmp_path / "aud" / split / digit).mkdir(parents=True)
            for k in range(n):
                Image.new("L", (8, 8), 40 + 100 * int(digit) + k).save(
                    tmp_path / "img" / split / digit / f"{k}.png")
                sf.write(tmp_path / "aud" / split / digit / f"{k}.wav",
                         np.full(800, 0.1 * (k + 1), np.float32), 16000)
    roots = f"{tmp_path / 'img'},{tmp_path / 'aud'}"
    (task,) = open_tasks(f"digits+spoken:image-folder+audio-folder={roots}", {})
    assert task.name == "digits+spoken" and task.paired and task.classes == ["0", "1"]
    for split in ("train", "test"):
        images, audio = task.sources["image"], task.sources["audio"]
        rows = task.rows[split]
        assert (images.labels(split)[rows["image"]] == audio.labels(split)[rows["audio"]]).all()
    (alias,) = open_tasks(f"fmnist:image-folder={tmp_path / 'img'}", {})
    assert alias.name == "fmnist" and not alias.paired
    with pytest.raises(Exception, match="not an image dataset"):
        open_tasks(f"audio-folder+audio-folder={tmp_path / 'aud'},{tmp_path / 'aud'}", {})



def test_task_roots_with_commas_and_a_class_missing_from_one_side(tmp_path):
    """A root holding a comma could not be given at all; a class missing from the images
    was reported as 'no image with label 1', with no class and no split."""
    from PIL import Image
    import soundfile as sf

    img, aud = tmp_path / "my,images", tmp_path / "sounds, 2026"
    for split in ("train", "test"):
        for digit in ("0", "1"):
            (aud / split / digit).mkdir(parents=True)
            sf.write(aud / split / digit / "a.wav", np.full(800, 0.1, np.float32), 16000)
            if (split, digit) != ("test", "1"):
                (img / split / digit).mkdir(parents=True)
                Image.new("L", (8, 8), 40).save(img / split / digit / "a.png")
    (one,) = open_tasks(f"audio-folder={aud}", {})
    assert one.sources["audio"].root == aud
    (trailing,) = open_tasks(f"audio-folder={aud},", {})  # a trailing comma is dropped
    assert trailing.sources["audio"].root == aud
    import shutil

    comma_end = Path(f"{aud},")  # ... unless the folder's own name ends in one
    shutil.copytree(aud, comma_end)
    (own,) = open_tasks(f"audio-folder={comma_end}", {})
    assert own.sources["audio"].root == comma_end
    with pytest.raises(TaskError, match=r"task 'audio-folder' needs 1 root\(s\), got 2"):
        open_tasks(f"audio-folder={aud},{aud}", {})  # two folders given to a one-root task
    (img / "test" / "1").mkdir()  # an empty class folder: the test split has no image of '1'
    with pytest.raises(TaskError, match=r"image-folder\+audio-folder/test: no image of class "
                       r"'1' to pair with its 1 audio clip\(s\)"):
        open_tasks(f"image-folder+audio-folder={img},{aud}", {})


def test_bn_stats_from_inputs_are_their_mean_and_unbiased_variance(tmp_path):
    cfg = RunConfig.from_run_config(TINY)
    torch.manual_seed(0)
    model = build_model(cfg.model_args()).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pipeline = InputPipeline(cfg.input_spec(), torch.device("cpu"))
    images = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8)
    seen = []  # the first BatchNorm's input (the stem convolution's output) for these images
    hook = model.encoder.bn1.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    with torch.no_grad():
        model.features(pipeline.eval_from_compact("image", images))
    hook.remove()
    x = seen[0].transpose(0, 1).flatten(1)  # (C, N*H*W)
    own = with_bn_stats_from(model, pipeline, "image", images)  # one batch of 10
    assert torch.allclose(own.encoder.bn1.running_mean, x.mean(1), atol=1e-5)
    assert torch.allclose(own.encoder.bn1.running_var, x.var(1, unbiased=True), rtol=1e-4)
    assert not own.training and own is not model
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the checkpoint's model untouched
    weights = dict(own.named_parameters())
    assert all(torch.equal(p, weights[n]) for n, p in model.named_parameters())
    # batches of 4 over 10 items: near-equal batches (4, 3, 3) in a seeded random order,
    # their statistics averaged
    halves = with_bn_stats_from(model, pipeline, "image", images, batch_size=4, seed=5)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(5))
    per_item = x.reshape(x.shape[0], 10, -1)
    parts = [per_item[:, rows].flatten(1) for rows in torch.tensor_split(order, 3)]
    assert [p.shape[1] // per_item.shape[2] for p in parts] == [4, 3, 3]
    assert torch.allclose(halves.encoder.bn1.running_mean,
                          torch.stack([q.mean(1) for q in parts]).mean(0), atol=1e-5)
    assert torch.allclose(halves.encoder.bn1.running_var,
                          torch.stack([q.var(1) for q in parts]).mean(0), rtol=1e-4)
    audio = pipeline.eval_compact("audio", Waves(torch.randn(6, 16000) * 0.1,
                                                  torch.full((6,), 16000)))
    enc = Encoders({"image": model, "audio": model}, "m", 1, {}, "resnet18")
    data = {"train": SplitInputs({"image": images, "audio": audio}, torch.zeros(6).long())}
    per = feature_models(enc, data, pipeline, ["audio", "image"], "task")
    assert torch.equal(per["image"].encoder.bn1.running_mean, own.encoder.bn1.running_mean)
    assert not torch.allclose(per["audio"].encoder.bn1.running_mean,
                              per["image"].encoder.bn1.running_mean)
    assert feature_models(enc, data, pipeline, ["image"], "checkpoint")["image"] is model
    vit = build_model(RunConfig.from_run_config({**TINY, "arch": "vit"}).model_args())
    assert with_bn_stats_from(vit, pipeline, "image", images) is vit  # no BatchNorm: as is


def test_bn_stats_of_a_paired_by_label_task_count_each_image_once(data):
    """mnist+fsdd repeats an image for every clip it is paired with: BatchNorm statistics
    re-estimated on the task's rows weighted those images by how often they were paired."""
    task = open_tasks(f"mnist+fsdd={data['mnist']},{data['fsdd']}", TINY)[0]
    cfg = RunConfig.from_run_config(TINY)
    pipeline = InputPipeline(cfg.input_spec(), torch.device("cpu"))
    train = load_split(task, "train", pipeline)
    rows = train.compact["image"].flatten(1)
    distinct = train.distinct_compact("image").flatten(1)
    assert len(torch.unique(rows, dim=0)) == len(distinct) < len(rows)
    assert len(torch.unique(distinct, dim=0)) == len(distinct)
    assert torch.equal(train.distinct_compact("audio"), train.compact["audio"])  # no repeats
    torch.manual_seed(0)
    model = build_model(cfg.model_args()).eval()
    enc = Encoders({"image": model, "audio": model}, "m", 1, {}, "resnet18")
    got = feature_models(enc, {"train": train}, pipeline, ["image"], "task", seed=3)["image"]
    want = with_bn_stats_from(model, pipeline, "image", train.distinct_compact("image"), seed=3)
    assert torch.equal(got.encoder.bn1.running_mean, want.encoder.bn1.running_mean)


def test_bn_stats_of_class_sorted_inputs_keep_the_spread_between_classes():
    """Datasets list items by class: batches taken in that order would each hold one class,
    and the mean of their variances would miss the spread between the classes."""
    cfg = RunConfig.from_run_config(TINY)
    torch.manual_seed(0)
    model = build_model(cfg.model_args()).eval()
    pipeline = InputPipeline(cfg.input_spec(), torch.device("cpu"))
    dark = torch.randint(0, 20, (32, 3, 32, 32), dtype=torch.uint8)
    light = torch.randint(235, 256, (32, 3, 32, 32), dtype=torch.uint8)
    images = torch.cat([dark, light])  # sorted: 32 of one "class", then 32 of the other
    seen = []
    hook = model.encoder.bn1.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    with torch.no_grad():
        model.features(pipeline.eval_from_compact("image", images))
    hook.remove()
    whole = seen[0].transpose(0, 1).flatten(1).var(1)
    own = with_bn_stats_from(model, pipeline, "image", images, batch_size=16)
    ratio = (own.encoder.bn1.running_var / whole).mean().item()
    assert 0.7 < ratio < 1.3, ratio  # in class order (batches of one kind): 0.24
    one = with_bn_stats_from(model, pipeline, "image", images[:1])
    assert one is model  # one row has no variance: the checkpoint's statistics stay


def test_task_bn_stats_change_knn_features_only_and_are_recorded(tmp_path, data, monkeypatch):
    import fssuavl_app.evaluate.runner as runner

    run = write_run(tmp_path / "r", (1,))
    task = ["--task", f"mnist+fsdd={data['mnist']},{data['fsdd']}", *FAST, "--mode", "v", "a",
            "--protocol", "knn", "finetune"]
    assert main([str(run), "--out", str(tmp_path / "ckpt"), *task]) == 0
    made = []  # the kNN features come from the re-estimated copies, one per modality

    def spy(model, pipeline, modality, compact, **kw):
        made.append((modality, len(compact)))
        made.append(runner_real(model, pipeline, modality, compact, **kw))
        return made[-1]

    runner_real = runner.with_bn_stats_from
    monkeypatch.setattr(runner, "with_bn_stats_from", spy)
    extracted = []
    real_features = runner.features_of
    monkeypatch.setattr(runner, "features_of", lambda model, *a, **kw: (
        extracted.append(model), real_features(model, *a, **kw))[1])
    assert main([str(run), "--out", str(tmp_path / "task"), "--bn-stats", "task", *task]) == 0
    ckpt, own = _results(tmp_path / "ckpt"), _results(tmp_path / "task")
    rows = own[0]["train-size"]  # re-estimated on the training items of each modality:
    estimated = dict(m for m in made if isinstance(m, tuple))  # every clip, each image once
    assert list(estimated) == ["audio", "image"] and estimated["audio"] == rows
    assert 1 < estimated["image"] < rows
    copies = [m for m in made if not isinstance(m, tuple)]
    assert len(extracted) == 4 and all(any(e is c for c in copies) for e in extracted)
    pick = lambda rs, proto, mode: next(r for r in rs if r["protocol"] == proto
                                        and r["mode"] == mode)
    for mode in ("V", "A"):
        assert pick(ckpt, "knn", mode)["bn-stats"] == "checkpoint"
        assert pick(own, "knn", mode)["bn-stats"] == "task"
        # fine-tuning starts from the checkpoint either way: same seed, same result
        assert pick(own, "finetune", mode)["bn-stats"] == "checkpoint"
        assert pick(own, "finetune", mode)["top1"] == pick(ckpt, "finetune", mode)["top1"]
    meta = json.loads((tmp_path / "task" / "results.json").read_text())
    assert meta["settings"]["bn_stats"] == "task"


def test_rounds_on_a_single_checkpoint_file_is_said_to_do_nothing(tmp_path, caplog):
    run = write_run(tmp_path / "r", (0, 1))
    with caplog.at_level("WARNING", logger="fssuavl.evaluate"):
        assert main([str(run / "round-0001.json"), "--rounds", "all", "--task",
                     "synthetic-shapes", *FAST, "--out", str(tmp_path / "o")]) == 0
    assert "--rounds all applies to run directories" in caplog.text
    assert [r["round"] for r in _results(tmp_path / "o")] == [1]


def test_a_knn_bank_smaller_than_k_is_logged_and_its_k_recorded(tmp_path, caplog):
    """kNN clamps k to the bank: a 5-item bank at --knn-k 200 scored k=5 with nothing said."""
    run = write_run(tmp_path / "r", (0,))
    with caplog.at_level("WARNING"):
        assert main([str(run), "--out", str(tmp_path / "o"), "--task", "synthetic-shapes",
                     "--max-samples", "5", "--protocol", "knn", "linear"]) == 0
    assert "the kNN bank holds 5 training items, fewer than --knn-k 200" in caplog.text
    results = _results(tmp_path / "o")
    knn = [r for r in results if r["protocol"] == "knn"]
    assert knn and all(r["knn-k"] == 5 and r["knn-t"] == 0.1 for r in knn)
    assert all("knn-k" not in r for r in results if r["protocol"] != "knn")
    assert main([str(run), "--out", str(tmp_path / "o2"), "--task", "synthetic-shapes",
                 "--max-samples", "5", "--knn-k", "3"]) == 0
    assert {r["knn-k"] for r in _results(tmp_path / "o2") if r["protocol"] == "knn"} == {3}


def test_the_readers_notes_are_logged_and_the_roots_recorded(tmp_path, caplog):
    """fssuavl-evaluate never said what the readers left out, nor which folder a figure
    came from."""
    root = write_image_folder(tmp_path, per_class=8)
    run = write_run(tmp_path / "r", (0,))
    with caplog.at_level("WARNING"):
        assert main([str(run), "--out", str(tmp_path / "o"), "--task", f"image-folder={root}",
                     *FAST]) == 0
    assert (f"task image-folder: image-folder: {root}: 1 image file directly in the root, in no "
            "class folder, skipped (first: loose.png)") in caplog.text
    assert {str(r["roots"]) for r in _results(tmp_path / "o")} == {str({"image": str(root)})}
    assert main([str(run), "--out", str(tmp_path / "b"), "--task", "synthetic-shapes",
                 *FAST]) == 0
    assert _results(tmp_path / "b")[0]["roots"] == {"image": "built-in"}
