import numpy as np
import pytest
import torch

from fssuavl_app.core.audio_frontend import AudioFrontend, AudioSpec, to_encoder_input
from fssuavl_app.core.views.audio import crop_clips

pytestmark = pytest.mark.unit


def test_centre_crop_and_zero_padding():
    waves = torch.zeros(2, 10)
    waves[0] = torch.arange(10.0)
    waves[1, :4] = torch.arange(1.0, 5.0)
    lengths = torch.tensor([10, 4])
    out = crop_clips(waves, lengths, 6, random=False)
    assert out[0].tolist() == [2, 3, 4, 5, 6, 7]  # centre of 10
    assert out[1].tolist() == [1, 2, 3, 4, 0, 0]  # short clip padded at the end


def _naive_crop(row: torch.Tensor, length: int, start: int, clip: int) -> list[float]:
    return [float(row[p]) if p < length else 0.0 for p in range(start, start + clip)]


@pytest.mark.parametrize("width,clip", [(50, 20), (12, 20), (20, 20), (1, 5)])
def test_centre_crops_match_a_per_row_reference(width, clip):
    """Batches narrower than the clip too (every row short): zero-padded at the end."""
    g = torch.Generator().manual_seed(width)
    lengths = torch.randint(1, width + 1, (16,), generator=g)
    lengths[0] = width
    waves = torch.rand(16, width, generator=g)
    waves[torch.arange(width)[None, :] >= lengths[:, None]] = 0.0  # padded as `stack` pads
    out = crop_clips(waves, lengths, clip, random=False)
    for row, length in enumerate(lengths.tolist()):
        start = max(length - clip, 0) // 2
        assert out[row].tolist() == pytest.approx(_naive_crop(waves[row], length, start, clip))


def test_crop_of_an_empty_batch_width_is_silence():
    out = crop_clips(torch.zeros(3, 0), torch.zeros(3, dtype=torch.int64), 4, random=True)
    assert out.shape == (3, 4) and not out.any()


def test_random_crops_stay_inside_and_vary():
    n, length, clip = 64, 100, 30
    waves = torch.arange(float(length)).repeat(n, 1)
    g = torch.Generator().manual_seed(0)
    out = crop_clips(waves, torch.full((n,), length), clip, random=True, generator=g)
    starts = out[:, 0]
    assert (starts >= 0).all() and (starts <= length - clip).all()
    assert (out[:, 1:] - out[:, :-1] == 1).all()  # contiguous
    assert len(set(starts.tolist())) > 10  # per-sample positions
    again = crop_clips(waves, torch.full((n,), length), clip, random=True, generator=g)
    assert not torch.equal(out, again)  # fresh randomness on every call


def test_frontend_shapes_and_values():
    spec = AudioSpec()
    t = torch.arange(spec.clip_samples) / spec.sample_rate
    clips = torch.stack([torch.sin(2 * np.pi * 440 * t), torch.zeros_like(t)])
    mel = AudioFrontend(spec)(clips)
    assert mel.shape == (2, 1, 128, 128) and mel.dtype == torch.float32
    assert torch.isfinite(mel).all()
    # the 440 Hz tone lights up a low mel band far above silence
    assert mel[0, 0].mean(1).argmax() < 40 and mel[0].max() > mel[1].max() + 5


def test_encoder_input_is_expanded_not_copied():
    x = to_encoder_input(torch.randn(3, 1, 128, 128), 64)
    assert x.shape == (3, 3, 64, 64) and x.stride(1) == 0
    same = to_encoder_input(torch.randn(2, 1, 128, 128), 128)
    assert same.shape == (2, 3, 128, 128)


def test_mel_matches_torchaudio_melspectrogram():
    import torchaudio
    spec = AudioSpec()
    clips = torch.randn(3, spec.clip_samples) * 0.1
    reference = torchaudio.transforms.MelSpectrogram(
        sample_rate=spec.sample_rate, n_fft=spec.n_fft, win_length=spec.win_length,
        hop_length=spec.hop_length, n_mels=spec.n_mels, power=2.0)(clips)
    torch.testing.assert_close(AudioFrontend(spec).mel_power(clips), reference, rtol=1e-4, atol=1e-6)
