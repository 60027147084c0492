"""Audio benchmarks: synth real-time factor (a Bach chorale, a dense 16-track song, the
SoundFont path) and start latency from Play to the first sample handed to a stub stream."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np

from bench.common import Row, best_of
from studio.audio.player import BLOCK, Player
from studio.audio.synth import Limiter, Synth, render_song
from studio.audio.testing import ManualStream
from studio.core.song import Notes, Song, TempoChange, Track
from studio.paths import bach_dataset_dir

SR = 44100


def chorale() -> tuple[Song, str]:
    """A bundled Bach chorale (4 voices, choir), else a synthesized 4-voice stand-in."""
    path = bach_dataset_dir() / "bwv10.7.mid"
    if path.is_file():
        from studio.core.midi_io import load_midi

        return load_midi(path), path.name
    rng = np.random.default_rng(1)
    tracks = []
    for k, base in enumerate((72, 65, 57, 45)):
        n = 200
        tracks.append(
            Track("SATB"[k], program=52, notes=Notes(base + rng.integers(0, 8, n),
                  np.arange(n) * 480, np.full(n, 470), np.full(n, 90)))
        )  # fmt: skip
    return Song("chorale", tempos=[TempoChange(0, 90.0)], tracks=tracks), "synthetic"


def dense_song(seconds: float = 30.0) -> Song:
    """16 tracks over all voice families plus drums: 16th-note runs, chords and pads."""
    rng = np.random.default_rng(7)
    programs = [0, 4, 19, 16, 24, 33, 40, 48, 52, 56, 61, 65, 73, 81, 89, 0]
    tracks = []
    step = 120  # 16th notes at 480 ticks per beat
    steps = int(seconds * 2 * 4)  # 120 bpm
    for k, program in enumerate(programs):
        drum = k == 15
        n = steps * (2 if drum else 1)
        start = np.sort(rng.integers(0, steps, n)) * step
        pitch = rng.integers(35, 60, n) if drum else rng.integers(36, 96, n)
        duration = rng.integers(1, 8, n) * step
        velocity = rng.integers(50, 127, n)
        tracks.append(
            Track(f"T{k}", program=program, is_drum=drum,
                  notes=Notes(pitch, start, duration, velocity))
        )  # fmt: skip
    return Song("dense", tracks=tracks)


def playback_rtf(song: Song, synth: Synth) -> tuple[float, float, float]:
    """(wall RTF, CPU RTF, seconds of audio) rendering like the player: 4096-frame blocks.

    The CPU figure (process time) is what the render costs; the wall figure also pays
    for whatever else the shared machine runs at the same time.
    """
    end = int(float(song.tick_to_seconds(song.end_tick)) * SR)

    def render() -> None:
        limiter = Limiter(SR)
        for start in range(0, end, BLOCK):
            limiter.process(synth.render(song, start, BLOCK))

    render()  # warm caches (wavetables, note frames)
    cpu = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        render()
        cpu = min(cpu, time.process_time() - t0)
    return (end / SR) / best_of(render, repeat=3), (end / SR) / cpu, end / SR


def start_latency(song: Song, tick: int, repeat: int = 15) -> tuple[float, float]:
    """(median, worst) ms from Player.play() to the first non-silent buffer."""
    player = Player(song, SR, threaded=True)
    player.warm()  # what the idle render thread does as soon as a song is opened
    stream = ManualStream(player.callback, SR, 1024, keep=False)
    samples = []
    try:
        for _ in range(repeat):
            player.stop()
            t0 = time.perf_counter()
            player.play(from_tick=tick)
            out = stream.pump(1)
            samples.append((time.perf_counter() - t0) * 1000.0)
            assert np.abs(out).max() > 0, "the first buffer must carry sound"
    finally:
        player.close()
    return statistics.median(samples), max(samples)


def run() -> list[Row]:
    rows: list[Row] = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    song, source = chorale()
    rtf, cpu_rtf, seconds = playback_rtf(song, Synth(SR))
    rows.append(
        Row(
            "audio",
            "synth RTF, 4-track chorale (playback blocks)",
            rtf,
            "x realtime",
            ">= 50",
            f"{source}, {seconds:.0f} s, 44.1 kHz; load avg {load:.1f}",
        )
    )
    rows.append(Row("audio", "synth CPU RTF, 4-track chorale", cpu_rtf, "x realtime",
                    ">= 50", "render CPU time only (process time)"))  # fmt: skip
    t = best_of(lambda: render_song(song, SR), repeat=3)
    rows.append(Row("audio", "WAV export render, 4-track chorale", seconds / t, "x realtime",
                    "", "64k-frame blocks + limiter"))  # fmt: skip
    dense = dense_song()
    rtf, cpu_rtf, seconds = playback_rtf(dense, Synth(SR))
    notes = dense.note_count
    rows.append(
        Row(
            "audio",
            "synth RTF, 16-track dense song",
            rtf,
            "x realtime",
            "> 1",
            f"{notes} notes in {seconds:.0f} s (~70 voices), drums included",
        )
    )
    rows.append(Row("audio", "synth CPU RTF, 16-track dense song", cpu_rtf, "x realtime",
                    "> 1", "render CPU time only"))  # fmt: skip
    median, worst = start_latency(song, tick=song.ticks_per_beat * 8)
    rows.append(Row("audio", "start latency Play -> first sample (chorale)", median, "ms",
                    "< 50", f"median of 15, worst {worst:.1f} ms"))  # fmt: skip
    median, worst = start_latency(dense, tick=dense.ticks_per_beat * 8)
    rows.append(Row("audio", "start latency Play -> first sample (16 tracks)", median, "ms",
                    "< 50", f"median of 15, worst {worst:.1f} ms"))  # fmt: skip
    font = _bundled_soundfont()
    if font is not None:
        from studio.audio.soundfont import SoundFontSynth

        rtf, _cpu, seconds = playback_rtf(song, SoundFontSynth(font, SR))
        rows.append(Row("audio", "SoundFont RTF, 4-track chorale (tinysoundfont)", rtf,
                        "x realtime", "", font.name))  # fmt: skip
    return rows


def _bundled_soundfont() -> Path | None:
    """pretty_midi ships a small GM SoundFont (TimGM6mb.sf2): handy for measuring."""
    try:
        import pretty_midi

        from studio.audio.soundfont import tinysoundfont_available
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() and tinysoundfont_available() else None
