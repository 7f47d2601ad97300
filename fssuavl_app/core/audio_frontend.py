"""Audio front-end: 2 s waveform clips -> 128-bin log-mel -> (3, S, S) "image".

All steps are batched tensor ops that run on the training device, in fp32
(outside any autocast: FFTs and the mel matmul need full precision).
Decoding files is not done here: readers give mono `SAMPLE_RATE` float waveforms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
import torchaudio

SAMPLE_RATE = 16_000  # Hz: every reader resamples to this, the front-end expects it


@dataclass(frozen=True)
class AudioSpec:
    """Front-end settings; stored in checkpoints so evaluation rebuilds the same input."""

    sample_rate: int = SAMPLE_RATE
    clip_seconds: float = 2.0
    n_mels: int = 128
    # The 25 ms window sets the frequency resolution; n_fft 640 (zero-padded) is the
    # smallest FFT that leaves none of the 128 mel filters empty, 3.5x faster than 1024.
    n_fft: int = 640
    win_length: int = 400  # 25 ms
    hop_length: int = 160  # 10 ms -> 201 frames per 2 s
    time_frames: int = 128  # time axis resized to this (the paper's 128x128)
    # Fixed normalisation of ln(mel power + 1e-6), measured once on speech and
    # the built-in sounds (bench/audio_stats.py); not per dataset, not per clip.
    log_mel_mean: float = -3.5
    log_mel_std: float = 4.0

    def __post_init__(self) -> None:
        counts = ("sample_rate", "n_mels", "n_fft", "win_length", "hop_length", "time_frames")
        bad = [f"{k}={getattr(self, k)!r}" for k in counts
               if type(getattr(self, k)) is not int or getattr(self, k) <= 0]
        for k in ("clip_seconds", "log_mel_std", "log_mel_mean"):
            v = getattr(self, k)
            if type(v) not in (int, float) or not math.isfinite(v) or \
                    (k != "log_mel_mean" and v <= 0):
                bad.append(f"{k}={v!r}")
        if bad:
            raise ValueError(f"audio front-end settings out of range: {', '.join(bad)} (counts "
                             "are positive ints; clip_seconds and log_mel_std positive, "
                             "log_mel_mean finite)")
        if self.win_length > self.n_fft:
            raise ValueError(f"audio front-end win_length {self.win_length} exceeds n_fft "
                             f"{self.n_fft}")

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    def to_dict(self) -> dict:
        return asdict(self)


class AudioFrontend(torch.nn.Module):
    """(N, clip_samples) waveforms -> normalised log-mel (N, 1, n_mels, time_frames), fp32.

    The mel power spectrogram is torchaudio's MelSpectrogram (Hann window,
    centred reflect-padded frames, HTK mel scale, no filter normalisation)
    written out as stft + |.|^2 + one matmul, which is faster on CPU.
    """

    def __init__(self, spec: AudioSpec = AudioSpec()):
        super().__init__()
        self.spec = spec
        self.register_buffer("window", torch.hann_window(spec.win_length), persistent=False)
        fbank = torchaudio.functional.melscale_fbanks(
            spec.n_fft // 2 + 1, 0.0, spec.sample_rate / 2, spec.n_mels, spec.sample_rate)
        self.register_buffer("fbank", fbank, persistent=False)  # (n_fft/2+1, n_mels)

    def mel_power(self, clips: torch.Tensor) -> torch.Tensor:
        """(N, samples) -> (N, n_mels, frames) mel power."""
        s = self.spec
        stft = torch.stft(clips, s.n_fft, s.hop_length, s.win_length, self.window,
                          center=True, pad_mode="reflect", return_complex=True)
        power = stft.real.square() + stft.imag.square()  # (N, freqs, frames)
        return torch.matmul(power.transpose(1, 2), self.fbank).transpose(1, 2)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=clips.device.type, enabled=False):
            mel = self.mel_power(clips.float())  # (N, n_mels, frames)
        logmel = torch.log(mel + 1e-6)
        logmel = F.interpolate(logmel[:, None], size=(self.spec.n_mels, self.spec.time_frames),
                               mode="bilinear", align_corners=False)
        return (logmel - self.spec.log_mel_mean) / self.spec.log_mel_std


def to_encoder_input(spectrograms: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 1, F, T) -> (N, 3, size, size): resize if needed, expand (no copy) to 3 channels."""
    if spectrograms.shape[-2:] != (size, size):
        spectrograms = F.interpolate(spectrograms, size=(size, size), mode="bilinear",
                                     align_corners=False)
    return spectrograms.expand(-1, 3, -1, -1)
