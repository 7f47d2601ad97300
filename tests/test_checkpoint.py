import json
import re
from pathlib import Path

import pytest
import torch

from fssuavl_app.core.audio_frontend import AudioSpec
from fssuavl_app.core.models import ModelArgs, build_model
from fssuavl_app.runs.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.rundir import (
    MetricsLog,
    RunDirError,
    read_metrics,
    make_run_dir,
    resolve_run_dir,
)

pytestmark = pytest.mark.integration


def _save(run_dir, round_, model, metrics=None):
    return save_checkpoint(run_dir, round_, model.state_dict(), model.args, AudioSpec(),
                           RunConfig().to_run_config(), metrics or {"round": round_})


def test_round_trip_rebuilds_the_model_from_the_checkpoint_alone(tmp_path):
    model = build_model(ModelArgs(input_size=32, proj_hidden_dim=16))
    path = _save(tmp_path, 3, model, {"knn-image-top1": 0.5})
    ckpt = load_checkpoint(path)
    assert ckpt.round == 3 and ckpt.metrics == {"knn-image-top1": 0.5}
    assert ckpt.model_args == model.args and ckpt.audio_spec == AudioSpec()
    assert ckpt.run_config == RunConfig().to_run_config()
    rebuilt = ckpt.build_model()
    for key, value in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value), key
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_latest_and_listing(tmp_path):
    model = build_model(ModelArgs(input_size=32))
    for r in (0, 1, 2):
        _save(tmp_path, r, model)
    (tmp_path / "round-0003.safetensors").write_bytes(b"partial")  # weights without JSON
    assert [r for r, _ in list_checkpoints(tmp_path)] == [0, 1, 2]
    assert latest_checkpoint(tmp_path).round == 2


def test_corrupt_or_foreign_files_give_clear_errors(tmp_path):
    model = build_model(ModelArgs(input_size=32))
    path = _save(tmp_path, 0, model)
    (tmp_path / "round-0000.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        load_checkpoint(path)
    path.write_text("{broken")
    with pytest.raises(CheckpointError, match="not readable JSON"):
        load_checkpoint(path)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="not an FSSUAVL checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no checkpoint metadata"):
        load_checkpoint(tmp_path / "missing.json")


def test_run_dir_refuses_to_overwrite_and_resumes(tmp_path):
    cfg = RunConfig(output_dir=str(tmp_path), run_name="r")
    run_dir, resumed = resolve_run_dir(cfg)
    assert resumed is None and not run_dir.exists()  # the server creates it after its checks
    run_dir.mkdir()
    _save(run_dir, 0, build_model(ModelArgs(input_size=32)))
    with pytest.raises(RunDirError, match="already holds a run"):
        resolve_run_dir(cfg)
    again, last = resolve_run_dir(RunConfig(resume=str(run_dir)))
    assert again == run_dir and last.round == 0
    with pytest.raises(RunDirError, match="does not exist"):
        resolve_run_dir(RunConfig(resume=str(tmp_path / "nothing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="no checkpoint"):
        resolve_run_dir(RunConfig(resume=str(tmp_path / "empty")))


def test_resume_given_a_file_names_the_run_directory_instead(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    _save(run_dir, 0, build_model(ModelArgs(input_size=32)))
    for name in ("round-0000.json", "round-0000.safetensors"):
        with pytest.raises(RunDirError, match=f'is a file.*resume="{run_dir}"'):
            resolve_run_dir(RunConfig(resume=str(run_dir / name)))


def test_a_new_run_refuses_a_folder_with_an_earlier_runs_metrics(tmp_path):
    """Its rounds would be appended to the earlier run's metrics.jsonl."""
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.jsonl").write_text('{"round": 0}\n')
    with pytest.raises(RunDirError, match="metrics.jsonl of an earlier run"):
        resolve_run_dir(RunConfig(output_dir=str(tmp_path), run_name="r"))


def test_a_run_directory_that_cannot_be_made_is_refused_at_start(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(RunDirError, match="is a file"):
        resolve_run_dir(RunConfig(output_dir=str(tmp_path), run_name="f"))
    with pytest.raises(RunDirError, match=r"cannot create .*: .*f is a file"):
        resolve_run_dir(RunConfig(output_dir=str(tmp_path / "f" / "deeper"), run_name="r"))


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_make_run_dir_reports_a_failed_mkdir_as_a_user_error():
    with pytest.raises(RunDirError, match="cannot create the folder /proc/.*set output-dir"):
        make_run_dir(Path("/proc/fssuavl-no-such-dir/run"))


def test_metrics_log_truncates_rounds_after_the_resumed_checkpoint(tmp_path):
    log = MetricsLog(tmp_path, resume_after=None)
    for r in range(4):
        log.write({"round": r, "loss-image": 1.0 / (r + 1)})
    log.close()
    MetricsLog(tmp_path, resume_after=1).close()
    assert [m["round"] for m in read_metrics(tmp_path)] == [0, 1]
    assert list((tmp_path / "tb").iterdir())


def test_tampered_truncated_or_unchecked_weights_are_refused(tmp_path):
    model = build_model(ModelArgs(input_size=32))
    path = _save(tmp_path, 0, model)
    weights = tmp_path / "round-0000.safetensors"
    good = weights.read_bytes()
    meta = json.loads(path.read_text())
    assert len(meta["weights_sha256"]) == 64
    # flip one byte of a tensor: still valid safetensors, different numbers
    tampered = bytearray(good)
    tampered[-5] ^= 0xFF
    weights.write_bytes(bytes(tampered))
    with pytest.raises(CheckpointError, match="changed, truncated or replaced"):
        load_checkpoint(path)
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="changed, truncated or replaced"):
        load_checkpoint(path)
    weights.write_bytes(good)
    assert load_checkpoint(path).round == 0
    del meta["weights_sha256"]
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="no weights checksum"):
        load_checkpoint(path)
    weights.unlink()
    with pytest.raises(CheckpointError, match="weights file .* is missing"):
        load_checkpoint(path)


@pytest.mark.parametrize("arch", ["vit", "resnet18-half"])
def test_checkpoint_of_another_arch_rebuilds_the_same_features(tmp_path, arch):
    """A ViT or a half-width ResNet-18 through a real checkpoint (safetensors + JSON), rebuilt
    from the checkpoint alone."""
    args = ModelArgs(arch=arch, input_size=32)
    torch.manual_seed(3)
    a = build_model(args).eval()
    path = save_checkpoint(tmp_path, 0, a.state_dict(), a.args, AudioSpec(),
                           RunConfig().to_run_config(), {"round": 0})
    rebuilt = load_checkpoint(path).build_model().eval()
    assert rebuilt.args == args
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(rebuilt.features(x), a.features(x))


@pytest.mark.parametrize("edit, says", [
    (lambda m: m.pop("model_args"), "lacks or mangles 'model_args' (dict)"),
    (lambda m: m.update(round="two"), "lacks or mangles 'round' (int)"),
    (lambda m: m["model_args"].update(bogus=1), "unexpected keyword argument 'bogus'"),
    (lambda m: m["audio_spec"].update(n_mels=0), "n_mels=0"),
    (lambda m: m["audio_spec"].update(sample_rate=-5), "sample_rate=-5"),
    (lambda m: m["audio_spec"].update(win_length=4000), "win_length 4000 exceeds n_fft 640"),
], ids=["no-model-args", "round-text", "unknown-model-arg", "no-mels", "negative-rate",
        "window"])
def test_an_edited_checkpoint_json_is_refused_with_the_field_named(tmp_path, edit, says):
    """The checksum covers the weights only; before, each of these raised a KeyError,
    TypeError or a RuntimeError deep in the audio front-end, some mid-evaluation."""
    path = _save(tmp_path, 2, build_model(ModelArgs(input_size=32)))
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=re.escape(says)):
        load_checkpoint(path)
