"""A synthesized General MIDI drum kit: one-shot samples baked once per sample rate.

Kicks and toms are sines with a falling pitch; snares mix a tone with shaped noise;
hats and cymbals are noise through a high band plus a few inharmonic partials. Noise
comes from a fixed seed, so a song renders identically every time (and the same in
every render block).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_SEED = 20240501


@dataclass(frozen=True)
class DrumKit:
    """All one-shots packed into one array so the synth can gather hits vectorised."""

    bank: np.ndarray  # float32, every sample back to back
    offset: np.ndarray  # [128] start of each key's sample in `bank`
    length: np.ndarray  # [128] samples
    pan: np.ndarray  # [128] -1..1

    @property
    def longest(self) -> int:
        return int(self.length.max())


def _noise(n: int, key: int) -> np.ndarray:
    return np.random.default_rng(_SEED + key).standard_normal(n)


def _band(noise: np.ndarray, sr: int, low: float, high: float) -> np.ndarray:
    """Band-pass by shaping the spectrum (soft edges, no ringing)."""
    n = len(noise)
    size = 1 << (n - 1).bit_length()  # power-of-two FFTs are several times faster
    spec = np.fft.rfft(noise, size)
    f = np.fft.rfftfreq(size, 1.0 / sr)
    shape = 1.0 / (1.0 + (low / np.maximum(f, 1.0)) ** 4) / (1.0 + (f / high) ** 4)
    return np.fft.irfft(spec * shape, size)[:n]


def _exp(t: np.ndarray, tau: float) -> np.ndarray:
    return np.exp(-t / tau)


def _sweep(t: np.ndarray, f_start: float, f_end: float, tau: float) -> np.ndarray:
    """Sine whose frequency falls exponentially from f_start to f_end (phase integrated)."""
    freq = f_end + (f_start - f_end) * np.exp(-t / tau)
    phase = 2 * np.pi * (f_end * t + (f_start - f_end) * tau * (1 - np.exp(-t / tau)))
    del freq
    return np.sin(phase)


def _fade_edges(x: np.ndarray, sr: int) -> np.ndarray:
    # A 1 ms fade in and 5 ms fade out: one-shots never start or stop with a click.
    n_in = max(1, int(0.001 * sr))
    n_out = max(1, int(0.005 * sr))
    x = x.copy()
    x[:n_in] *= np.linspace(0.0, 1.0, n_in)
    x[-n_out:] *= np.linspace(1.0, 0.0, n_out)
    return x


def _kick(t: np.ndarray, sr: int, key: int, deep: bool) -> np.ndarray:
    body = _sweep(t, 150.0 if deep else 180.0, 45.0 if deep else 55.0, 0.035) * _exp(t, 0.22)
    click = _band(_noise(len(t), key), sr, 1500, 6000) * _exp(t, 0.004) * 0.25
    return body + click


def _snare(t: np.ndarray, sr: int, key: int, bright: bool) -> np.ndarray:
    tone = 0.55 * np.sin(2 * np.pi * 185.0 * t) + 0.35 * np.sin(2 * np.pi * 330.0 * t)
    noise = _band(_noise(len(t), key), sr, 1500, 9000 if bright else 7000)
    noise /= np.abs(noise).max() + 1e-9
    return tone * _exp(t, 0.05) + 0.9 * noise * _exp(t, 0.12 if bright else 0.09)


def _clap(t: np.ndarray, sr: int, key: int) -> np.ndarray:
    noise = _band(_noise(len(t), key), sr, 900, 4000)
    noise /= np.abs(noise).max() + 1e-9
    env = np.zeros_like(t)
    for k, delay in enumerate((0.0, 0.011, 0.022)):
        env += (t >= delay) * _exp(np.maximum(t - delay, 0.0), 0.008) * (0.8 + 0.1 * k)
    env += (t >= 0.03) * _exp(np.maximum(t - 0.03, 0.0), 0.12) * 0.6
    return noise * env


def _tom(t: np.ndarray, sr: int, key: int, freq: float) -> np.ndarray:
    body = _sweep(t, freq * 1.6, freq, 0.06) * _exp(t, 0.3)
    thump = _band(_noise(len(t), key), sr, 200, 2000) * _exp(t, 0.01) * 0.05
    return body + thump


def _metal(t: np.ndarray, sr: int, key: int, low: float, tau: float, ring: float) -> np.ndarray:
    """Hats and cymbals: bright noise plus six inharmonic square-ish partials (TR-808 style)."""
    noise = _band(_noise(len(t), key), sr, low, 16000)
    noise /= np.abs(noise).max() + 1e-9
    partials = sum(
        np.sign(np.sin(2 * np.pi * f * t)) for f in (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)
    )
    metallic = _band(partials, sr, low, 14000)
    metallic /= np.abs(metallic).max() + 1e-9
    return (noise + ring * metallic) * _exp(t, tau)


def _bell(t: np.ndarray, freq: float, tau: float) -> np.ndarray:
    ratios = (1.0, 1.48, 2.0, 2.67)
    return sum(np.sin(2 * np.pi * freq * r * t) / (k + 1) for k, r in enumerate(ratios)) * _exp(
        t, tau
    )


def _hand_drum(t: np.ndarray, sr: int, key: int, freq: float) -> np.ndarray:
    body = _sweep(t, freq * 1.3, freq, 0.02) * _exp(t, 0.12)
    slap = _band(_noise(len(t), key), sr, 800, 5000) * _exp(t, 0.006) * 0.2
    return body + slap


def _one_shot(key: int, sr: int) -> tuple[np.ndarray, float]:
    """The sample of one GM drum key, and its pan."""
    seconds = {49: 2.2, 52: 1.8, 55: 1.2, 57: 2.2, 51: 1.6, 59: 1.6, 53: 1.2, 46: 0.6}.get(key, 0.7)
    t = np.arange(int(seconds * sr)) / sr
    toms = {41: 82.0, 43: 98.0, 45: 117.0, 47: 139.0, 48: 165.0, 50: 196.0}
    if key in (35, 36):
        x, pan = _kick(t, sr, key, deep=key == 35), 0.0
    elif key in (38, 40):
        x, pan = _snare(t, sr, key, bright=key == 40), 0.05
    elif key == 37:
        x, pan = _band(_noise(len(t), key), sr, 1000, 5000) * _exp(t, 0.015), 0.05
    elif key == 39:
        x, pan = _clap(t, sr, key), -0.05
    elif key in toms:
        x, pan = _tom(t, sr, key, toms[key]), (key - 45.5) / 10.0
    elif key in (42, 44):
        x, pan = 0.6 * _metal(t, sr, key, 7000, 0.035 if key == 42 else 0.05, 0.6), 0.35
    elif key == 46:
        x, pan = 0.6 * _metal(t, sr, key, 6000, 0.25, 0.6), 0.35
    elif key in (49, 57, 52, 55):
        x, pan = 0.55 * _metal(t, sr, key, 3500, 0.7 if key != 55 else 0.35, 0.35), -0.4
    elif key in (51, 59):
        x = 0.3 * _metal(t, sr, key, 5000, 0.5, 0.2) + 0.25 * _bell(t, 2200.0, 0.6)
        pan = -0.3
    elif key == 53:
        x, pan = 0.5 * _bell(t, 1800.0, 0.5), -0.3
    elif key == 54:
        x, pan = 0.5 * _metal(t, sr, key, 6000, 0.1, 0.8), 0.25
    elif key == 56:
        x, pan = 0.5 * _bell(t, 560.0, 0.12), 0.2
    elif 60 <= key <= 68:
        x, pan = _hand_drum(t, sr, key, 180.0 * 2 ** ((60 - key) / 6.0)), 0.15 * (key % 3 - 1)
    else:
        freq = 200.0 * 2 ** ((key - 60) / 12.0)
        x, pan = _hand_drum(t, sr, key, min(freq, 2000.0)) * 0.7, 0.0
    peak = np.abs(x).max()
    x = x / peak if peak > 0 else x
    return _fade_edges(x, sr), pan


@lru_cache(maxsize=8)
def drum_kit(sample_rate: int) -> DrumKit:
    """Bake every key once (about 0.2 s of CPU at 48 kHz) and pack them."""
    sources = sorted({min(max(key, 35), 81) for key in range(128)})
    baked = {source: _one_shot(source, sample_rate) for source in sources}
    starts: dict[int, int] = {}
    pieces, position = [], 0
    for source in sources:
        starts[source] = position
        pieces.append(baked[source][0])
        position += len(baked[source][0])
    # Keys outside the GM kit reuse the nearest kit key so any generated pitch sounds.
    keys = [min(max(key, 35), 81) for key in range(128)]
    offset = np.array([starts[k] for k in keys], dtype=np.int64)
    length = np.array([len(baked[k][0]) for k in keys], dtype=np.int64)
    pan = np.array([baked[k][1] for k in keys], dtype=np.float64)
    return DrumKit(np.concatenate(pieces).astype(np.float32), offset, length, pan)
