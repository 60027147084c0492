"""The metronome: where the clicks fall (from the song's meter and tempo map) and their sound.

`Metronome.mix_into` is called by the player's render thread for each block of song
frames it renders, so the clicks are sample-accurate against the music and loop with it.
`count_in` renders the bar(s) of clicks played before a recording starts. No Qt, no device.
"""

from __future__ import annotations

import math

import numpy as np

from studio.core.song import Song

CLICK_SECONDS = 0.03
ACCENT_HZ = 1760.0  # the first beat of a bar: an octave above the other beats
BEAT_HZ = 880.0


def render_click(sample_rate: int, accent: bool, level: float = 0.5) -> np.ndarray:
    """A short decaying sine blip, stereo float32 (frames x 2)."""
    n = max(1, int(CLICK_SECONDS * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    freq = ACCENT_HZ if accent else BEAT_HZ
    # A 1 ms attack ramp keeps the click from popping; the exponential decay keeps it short.
    envelope = np.minimum(1.0, t / 0.001) * np.exp(-t / (CLICK_SECONDS / 5))
    mono = (level * (1.0 if accent else 0.7)) * envelope * np.sin(2 * np.pi * freq * t)
    return np.repeat(mono.astype(np.float32)[:, None], 2, axis=1)


def beat_ticks(song: Song, start_tick: float, end_tick: float) -> list[tuple[int, bool]]:
    """Beats in [start_tick, end_tick) as (tick, first beat of a bar), meter changes honoured."""
    beats: list[tuple[int, bool]] = []
    sigs = song.time_signatures
    for k, sig in enumerate(sigs):
        seg_end = sigs[k + 1].tick if k + 1 < len(sigs) else math.inf
        lo, hi = max(start_tick, sig.tick), min(end_tick, seg_end)
        if lo >= hi:
            continue
        beat = song.ticks_per_beat * 4 / sig.denominator
        first = math.ceil((lo - sig.tick) / beat - 1e-9)
        index = first
        while True:
            tick = sig.tick + index * beat
            if tick >= hi:
                break
            beats.append((round(tick), index % sig.numerator == 0))
            index += 1
    return beats


class Metronome:
    """Mixes clicks on the song's beats into rendered blocks (called from the render thread)."""

    def __init__(self, sample_rate: int, level: float = 0.5) -> None:
        self.sample_rate = int(sample_rate)
        self.accent = render_click(self.sample_rate, True, level)
        self.beat = render_click(self.sample_rate, False, level)

    def mix_into(self, audio: np.ndarray, song: Song, song_frame: int) -> None:
        """Add the clicks that sound in song frames [song_frame, song_frame + len(audio))."""
        n = len(audio)
        if not n:
            return
        sr = self.sample_rate
        click = len(self.accent)
        # A click that began just before this block still rings into it.
        first_s = max(0.0, (song_frame - click) / sr)
        lo = float(song.seconds_to_tick(first_s))
        hi = float(song.seconds_to_tick((song_frame + n) / sr)) + 1
        for tick, accent in beat_ticks(song, lo, hi):
            frame = round(float(song.tick_to_seconds(tick)) * sr) - song_frame
            sound = self.accent if accent else self.beat
            a, b = max(0, frame), min(n, frame + len(sound))
            if a < b:
                audio[a:b] += sound[a - frame : b - frame]


def count_in(song: Song, at_tick: int, bars: int, sample_rate: int, level: float = 0.5):
    """The clicks of `bars` bars before `at_tick`, at the tempo and meter found there.

    Returns (audio, seconds): the clicks as stereo float32 and the time from the first
    click to the downbeat at `at_tick` (the audio itself ends with the last click's ring).
    """
    sig = song.time_signature_at(at_tick)
    beats = max(0, int(bars)) * sig.numerator
    beat_ticks_len = song.ticks_per_beat * 4 / sig.denominator
    bpm = _tempo_at(song, at_tick)
    beat_seconds = (beat_ticks_len / song.ticks_per_beat) * 60.0 / bpm
    seconds = beats * beat_seconds
    accent = render_click(sample_rate, True, level)
    plain = render_click(sample_rate, False, level)
    total = round(seconds * sample_rate) + len(accent) if beats else 0
    audio = np.zeros((total, 2), dtype=np.float32)
    for k in range(beats):
        start = round(k * beat_seconds * sample_rate)
        sound = accent if k % sig.numerator == 0 else plain
        audio[start : start + len(sound)] += sound[: total - start]
    return audio, seconds


def _tempo_at(song: Song, tick: int) -> float:
    bpm = song.tempos[0].bpm
    for change in song.tempos:
        if change.tick > tick:
            break
        bpm = change.bpm
    return float(bpm)
