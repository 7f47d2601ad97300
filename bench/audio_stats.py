"""Measure the log-mel statistics behind AudioSpec's fixed normalisation.

Prints mean and std of ln(mel power + 1e-6) (centre 2 s crops, 16 kHz) over
the built-in sounds and, when espeak-ng is installed, over synthesised
speech; the constants in fssuavl_app/core/audio_frontend.py are round numbers between them.

    python bench/audio_stats.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import librosa
import soundfile as sf
import torch

from fssuavl_app.core.audio_frontend import AudioFrontend, AudioSpec
from fssuavl_app.core.views.audio import crop_clips
from fssuavl_app.data import Builtin, load_items, open_dataset

SENTENCES = ["the quick brown fox jumps over the lazy dog", "seven silver swans swam south",
             "federated learning keeps data on the device", "open the window and let the air in",
             "one two three four five six seven eight nine ten"]


def log_mel_stats(waves: torch.Tensor, lengths: torch.Tensor) -> tuple[float, float]:
    raw = AudioFrontend(AudioSpec(log_mel_mean=0.0, log_mel_std=1.0))
    x = raw(crop_clips(waves, lengths, AudioSpec().clip_samples, random=False))
    return x.mean().item(), x.std().item()


def speech_waves() -> tuple[torch.Tensor, torch.Tensor] | None:
    if shutil.which("espeak-ng") is None:
        return None
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(SENTENCES):
            path = Path(tmp) / f"{i}.wav"
            subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
            wave, sr = sf.read(path, dtype="float32")
            clips.append(torch.from_numpy(librosa.resample(wave, orig_sr=sr, target_sr=16_000)))
    lengths = torch.tensor([len(c) for c in clips])
    out = torch.zeros(len(clips), int(lengths.max()))
    for row, c in enumerate(clips):
        out[row, : len(c)] = c
    return out, lengths


def main() -> None:
    synthetic = open_dataset("synthetic-sounds", builtin=Builtin(0, 20, 1))
    waves = load_items(synthetic, "train", range(200)).data
    mean, std = log_mel_stats(waves.samples, waves.lengths)
    print(f"built-in sounds : mean {mean:7.3f}  std {std:6.3f}")
    speech = speech_waves()
    if speech is None:
        print("speech          : espeak-ng not installed, skipped")
    else:
        mean, std = log_mel_stats(*speech)
        print(f"espeak-ng speech: mean {mean:7.3f}  std {std:6.3f}")
    spec = AudioSpec()
    print(f"AudioSpec uses  : mean {spec.log_mel_mean:7.3f}  std {spec.log_mel_std:6.3f}")


if __name__ == "__main__":
    main()
