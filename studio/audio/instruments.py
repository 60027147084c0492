"""Instrument voices of the built-in synthesizer, chosen from a track's MIDI program.

Each voice is a few band-limited wavetables (one single-cycle table per MIDI pitch, so
no partial ever crosses Nyquist and formants can sit at fixed frequencies), a handful of
detuned oscillators, vibrato and an envelope. Everything here is data plus the code that
bakes the tables; `studio.audio.synth` plays them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TABLE_SIZE = 2048
N_PITCHES = 128
_MAX_PARTIALS = 64

SpectrumFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(harmonic numbers [H], fundamental Hz [P]) -> amplitudes [P, H]."""


def midi_to_hz(pitch: np.ndarray | float) -> np.ndarray | float:
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)


@dataclass(frozen=True)
class Voice:
    """Everything the synth needs to play one instrument family."""

    name: str
    spectrum: SpectrumFn
    # A brighter spectrum that fades into `spectrum` after the attack (piano, plucks):
    # struck strings lose their upper partials first.
    bright_spectrum: SpectrumFn | None = None
    bright_decay: float = 0.3  # seconds
    attack: float = 0.005  # seconds, linear: a ramp from 0 so a note never starts with a click
    decay: float = 1e9  # seconds, fast component of the amplitude decay
    sustain: float = 1.0  # weight of the slow component
    slow_decay: float = 1e9  # seconds, slow component (1e9: holds)
    release: float = 0.08  # seconds, to exactly zero after note off
    pitch_decay_octaves: float = 0.0  # >0: higher notes decay faster (halve per N octaves)
    detune_cents: tuple[float, ...] = (0.0,)
    osc_pan: tuple[float, ...] = (0.0,)  # -1 left .. +1 right, per oscillator
    vibrato_hz: float = 0.0
    vibrato_cents: float = 0.0
    vibrato_delay: float = 0.25  # seconds for the vibrato to fade in
    gain: float = 1.0

    @property
    def tail(self) -> float:
        """Seconds a note may sound after its note-off."""
        return self.release


# -- spectra ---------------------------------------------------------------------------


def _rolloff(h: np.ndarray, f0: np.ndarray, corner: float) -> np.ndarray:
    """Gentle low-pass on partial frequencies: -6 dB/octave above `corner` Hz."""
    f = h[None, :] * f0[:, None]
    return 1.0 / np.sqrt(1.0 + (f / corner) ** 2)


def _formants(
    h: np.ndarray, f0: np.ndarray, peaks: tuple[tuple[float, float, float], ...]
) -> np.ndarray:
    """Vocal-tract resonances (centre Hz, bandwidth Hz, linear gain) summed over partials."""
    f = h[None, :] * f0[:, None]
    out = np.full_like(f, 0.02)
    for centre, width, gain in peaks:
        out += gain / (1.0 + ((f - centre) / width) ** 2)
    return out


def _piano_bright(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    # Hammer struck near 1/8 of the string: every 8th partial is weak.
    strike = np.abs(np.sin(np.pi * h / 8.3))[None, :] + 0.15
    return h[None, :] ** -1.05 * strike * _rolloff(h, f0, 5000.0)


def _piano(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return h[None, :] ** -2.2 * _rolloff(h, f0, 1800.0)


def _church_organ(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    # A principal (diapason) with octave and fifth ranks drawn: 8', 4', 2 2/3', 2'.
    amps = np.zeros((len(f0), len(h)))
    weights = {1: 1.0, 2: 0.62, 3: 0.3, 4: 0.36, 5: 0.08, 6: 0.14, 8: 0.1, 10: 0.03, 12: 0.04}
    for k, w in weights.items():
        if k <= len(h):
            amps[:, k - 1] = w
    return amps * _rolloff(h, f0, 3500.0)


def _drawbar_organ(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    amps = np.zeros((len(f0), len(h)))
    weights = {1: 1.0, 2: 0.8, 3: 0.7, 4: 0.35, 6: 0.2, 8: 0.25}
    for k, w in weights.items():
        if k <= len(h):
            amps[:, k - 1] = w
    return amps


# Soprano/alto "aah" formants, softened (wide bands) so every pitch sounds alike.
_AAH = ((780.0, 130.0, 1.0), (1180.0, 150.0, 0.55), (2850.0, 220.0, 0.12), (3700.0, 260.0, 0.06))
_OOH = ((400.0, 110.0, 1.0), (800.0, 140.0, 0.2), (2700.0, 240.0, 0.03))


def _choir(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    # A breathy glottal source (falling ~7 dB/octave) through "aah" formants; the upper
    # partials stay soft, so four parts blend instead of buzzing.
    source = h[None, :] ** -1.2
    return source * _formants(h, f0, _AAH) * _rolloff(h, f0, 3200.0)


def _ooh(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return h[None, :] ** -1.2 * _formants(h, f0, _OOH)


def _strings(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    # A bowed string is close to a sawtooth; the body adds broad resonances.
    body = _formants(h, f0, ((450.0, 250.0, 0.6), (1200.0, 500.0, 0.5), (2800.0, 900.0, 0.35)))
    return h[None, :] ** -1.0 * body * _rolloff(h, f0, 3500.0)


def _brass(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return h[None, :] ** -0.7 * _rolloff(h, f0, 1600.0)


def _reed(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    odd = np.where(h % 2 == 1, 1.0, 0.35)[None, :]
    return odd * h[None, :] ** -1.0 * _rolloff(h, f0, 2500.0)


def _flute(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    amps = np.zeros((len(f0), len(h)))
    for k, w in {1: 1.0, 2: 0.22, 3: 0.1, 4: 0.04, 5: 0.02}.items():
        if k <= len(h):
            amps[:, k - 1] = w
    return amps


def _bass(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return h[None, :] ** -1.9 * _rolloff(h, f0, 900.0)


def _bass_bright(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return h[None, :] ** -1.2 * _rolloff(h, f0, 2500.0)


def _pluck_bright(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    # Plucked at ~1/5 of the string.
    pluck = np.abs(np.sin(np.pi * h / 5.2))[None, :] + 0.1
    return h[None, :] ** -1.0 * pluck * _rolloff(h, f0, 4000.0)


def _pluck(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return h[None, :] ** -2.4 * _rolloff(h, f0, 1500.0)


def _mallet(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    amps = np.zeros((len(f0), len(h)))
    amps[:, 0] = 1.0
    if len(h) >= 4:
        amps[:, 3] = 0.25
    if len(h) >= 10:
        amps[:, 9] = 0.06
    return amps


def _lead(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return h[None, :] ** -1.0 * _rolloff(h, f0, 3000.0)


def _pad(h: np.ndarray, f0: np.ndarray) -> np.ndarray:
    return 0.5 * _choir(h, f0) + 0.5 * h[None, :] ** -1.4 * _rolloff(h, f0, 1500.0)


# -- the families ---------------------------------------------------------------------

PIANO = Voice(
    "piano",
    _piano,
    bright_spectrum=_piano_bright,
    bright_decay=0.25,
    attack=0.002,
    decay=0.45,
    sustain=0.55,
    slow_decay=4.5,
    release=0.14,
    pitch_decay_octaves=1.6,
    detune_cents=(-1.2, 1.2),
    osc_pan=(-0.15, 0.15),
    gain=1.0,
)
CHURCH_ORGAN = Voice(
    "organ",
    _church_organ,
    attack=0.035,
    release=0.09,
    detune_cents=(0.0, 2.5),
    osc_pan=(-0.2, 0.2),
    vibrato_hz=5.2,
    vibrato_cents=2.0,
    vibrato_delay=0.1,
    gain=0.9,
)
DRAWBAR_ORGAN = Voice(
    "drawbar organ",
    _drawbar_organ,
    attack=0.008,
    release=0.05,
    detune_cents=(0.0, 3.0),
    osc_pan=(-0.25, 0.25),
    vibrato_hz=6.5,
    vibrato_cents=5.0,
    vibrato_delay=0.0,
    gain=0.55,
)
CHOIR = Voice(
    "choir",
    _choir,
    attack=0.11,
    release=0.22,
    detune_cents=(-6.0, 6.0),
    osc_pan=(-0.4, 0.4),
    vibrato_hz=5.1,
    vibrato_cents=14.0,
    vibrato_delay=0.35,
    gain=0.95,
)
OOH = Voice(
    "voice oohs",
    _ooh,
    attack=0.12,
    release=0.25,
    detune_cents=(-6.0, 5.0),
    osc_pan=(-0.4, 0.4),
    vibrato_hz=5.0,
    vibrato_cents=12.0,
    vibrato_delay=0.35,
    gain=0.9,
)
STRINGS = Voice(
    "strings",
    _strings,
    attack=0.12,
    decay=1.5,
    sustain=0.85,
    release=0.28,
    detune_cents=(-6.0, 0.0, 5.0),
    osc_pan=(-0.5, 0.0, 0.5),
    vibrato_hz=5.6,
    vibrato_cents=10.0,
    vibrato_delay=0.3,
    gain=0.75,
)
BRASS = Voice(
    "brass",
    _brass,
    attack=0.045,
    decay=0.8,
    sustain=0.8,
    release=0.12,
    detune_cents=(-3.0, 3.0),
    osc_pan=(-0.2, 0.2),
    vibrato_hz=5.0,
    vibrato_cents=6.0,
    vibrato_delay=0.4,
    gain=0.7,
)
REED = Voice(
    "reed",
    _reed,
    attack=0.03,
    release=0.1,
    vibrato_hz=5.3,
    vibrato_cents=8.0,
    vibrato_delay=0.35,
    gain=0.8,
)
FLUTE = Voice(
    "flute",
    _flute,
    attack=0.06,
    release=0.12,
    vibrato_hz=5.0,
    vibrato_cents=9.0,
    vibrato_delay=0.3,
    gain=0.9,
)
BASS = Voice(
    "bass",
    _bass,
    bright_spectrum=_bass_bright,
    bright_decay=0.12,
    attack=0.004,
    decay=0.6,
    sustain=0.6,
    slow_decay=3.5,
    release=0.07,
    gain=1.2,
)
PLUCKED = Voice(
    "plucked",
    _pluck,
    bright_spectrum=_pluck_bright,
    bright_decay=0.15,
    attack=0.002,
    decay=0.35,
    sustain=0.5,
    slow_decay=2.2,
    release=0.1,
    pitch_decay_octaves=2.0,
    detune_cents=(-1.5, 1.5),
    osc_pan=(-0.15, 0.15),
    gain=0.95,
)
MALLET = Voice(
    "mallet",
    _mallet,
    attack=0.002,
    decay=0.25,
    sustain=0.45,
    slow_decay=1.6,
    release=0.12,
    pitch_decay_octaves=2.0,
    gain=0.9,
)
LEAD = Voice(
    "lead",
    _lead,
    attack=0.01,
    release=0.08,
    detune_cents=(-5.0, 5.0),
    osc_pan=(-0.3, 0.3),
    vibrato_hz=5.5,
    vibrato_cents=8.0,
    vibrato_delay=0.3,
    gain=0.5,
)
PAD = Voice(
    "pad",
    _pad,
    attack=0.3,
    release=0.5,
    detune_cents=(-8.0, 0.0, 8.0),
    osc_pan=(-0.6, 0.0, 0.6),
    vibrato_hz=4.5,
    vibrato_cents=6.0,
    vibrato_delay=0.5,
    gain=0.7,
)

VOICES: tuple[Voice, ...] = (
    PIANO,
    CHURCH_ORGAN,
    DRAWBAR_ORGAN,
    CHOIR,
    OOH,
    STRINGS,
    BRASS,
    REED,
    FLUTE,
    BASS,
    PLUCKED,
    MALLET,
    LEAD,
    PAD,
)


def voice_for_program(program: int) -> Voice:
    """The voice of a General MIDI program (0-based) on a melodic channel."""
    if not 0 <= program <= 127:
        raise ValueError(f"program must be in 0..127, got {program}")
    family = program // 8
    if program in (6, 7):  # harpsichord, clavinet: plucked, not hammered
        return PLUCKED
    if family == 0:
        return PIANO
    if family == 1:
        return MALLET
    if family == 2:
        return CHURCH_ORGAN if program in (19, 20) else DRAWBAR_ORGAN
    if family == 3:
        return PLUCKED
    if family == 4:
        return BASS
    if program in (45, 46):  # pizzicato strings, harp
        return PLUCKED
    if program == 47:  # timpani
        return BASS
    if family in (5, 6) and program not in (52, 53, 54, 55):
        return STRINGS
    if program == 52:
        return CHOIR
    if program in (53, 54):
        return OOH
    if program == 55 or family == 7:
        return BRASS
    if family == 8 or program in (64, 65, 66, 67, 68, 69, 70, 71):
        return REED
    if family == 9:
        return FLUTE
    if family == 10:
        return LEAD
    if family == 11:
        return PAD
    if family in (13,):
        return PLUCKED if program < 108 else MALLET
    if family == 14:
        return MALLET
    return PAD


# -- wavetables -----------------------------------------------------------------------


@lru_cache(maxsize=64)
def _sine_basis(n_partials: int) -> np.ndarray:
    phase = np.arange(TABLE_SIZE, dtype=np.float64) / TABLE_SIZE
    h = np.arange(1, n_partials + 1, dtype=np.float64)
    return np.sin(2.0 * np.pi * h[:, None] * phase[None, :])


def bake_tables(spectrum: SpectrumFn, sample_rate: int) -> np.ndarray:
    """One single-cycle table per MIDI pitch, band-limited below Nyquist.

    Shape ``[128, TABLE_SIZE + 1]`` float32; the extra column repeats column 0 so that
    linear interpolation never wraps. Each row peaks at 1, so loudness is set by the
    envelope and velocity, not by how many partials a pitch happens to have.
    """
    f0 = np.asarray(midi_to_hz(np.arange(N_PITCHES)), dtype=np.float64)
    h = np.arange(1, _MAX_PARTIALS + 1, dtype=np.float64)
    amps = np.asarray(spectrum(h, f0), dtype=np.float64)
    amps = np.where(h[None, :] * f0[:, None] < 0.45 * sample_rate, amps, 0.0)
    # A fixed phase pattern keeps the crest factor low (no spiky waveforms).
    signs = np.where((h * (h - 1) / 2) % 2 == 0, 1.0, -1.0)
    tables = (amps * signs[None, :]) @ _sine_basis(_MAX_PARTIALS)
    peak = np.abs(tables).max(axis=1, keepdims=True)
    tables = tables / np.maximum(peak, 1e-9)
    out = np.empty((N_PITCHES, TABLE_SIZE + 1), dtype=np.float32)
    out[:, :TABLE_SIZE] = tables
    out[:, TABLE_SIZE] = tables[:, 0]
    return out


@dataclass(frozen=True)
class VoiceTables:
    """A voice's wavetables for one sample rate (flattened for fast gathers)."""

    main: np.ndarray  # [128 * (TABLE_SIZE + 1)]
    main_slope: np.ndarray  # main[i + 1] - main[i]: one gather instead of two per lerp
    bright_extra: np.ndarray | None  # bright minus main, same layout
    bright_slope: np.ndarray | None


def _slope(tables: np.ndarray) -> np.ndarray:
    slope = np.zeros_like(tables)
    slope[:, :-1] = np.diff(tables, axis=1)
    return slope.ravel()


@lru_cache(maxsize=64)
def voice_tables(voice: Voice, sample_rate: int) -> VoiceTables:
    main = bake_tables(voice.spectrum, sample_rate)
    extra = slope = None
    if voice.bright_spectrum is not None:
        bright = bake_tables(voice.bright_spectrum, sample_rate) - main
        extra, slope = bright.ravel(), _slope(bright)
    return VoiceTables(main.ravel(), _slope(main), extra, slope)
