"""WAV export of a song or its loop region, written atomically.

Rendered block by block through the same synth and limiter as playback, so the file
sounds exactly like the app. 16-bit PCM with TPDF dither (or 32-bit float on request).
"""

from __future__ import annotations

import os
import wave
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from studio.audio.synth import Limiter, Synth, TrackMix, check_sample_rate, song_tail_seconds
from studio.core.atomic import atomic_path
from studio.core.song import Song

BLOCK = 1 << 15


class ExportCancelled(Exception):
    """The user cancelled an export; the destination was left untouched."""


class ExportError(Exception):
    """An export failed; the message names the file and the reason."""


def export_range(
    song: Song, sample_rate: int, start_tick: int | None = None, end_tick: int | None = None
) -> tuple[int, int]:
    """Frames [start, end) to export: the given ticks, else the song plus its release tail."""
    synth_rate = check_sample_rate(sample_rate)
    if start_tick is None and end_tick is None:
        if not song.end_tick:
            return 0, 0
        end_s = float(song.tick_to_seconds(song.end_tick)) + song_tail_seconds(song, synth_rate)
        return 0, int(np.ceil(end_s * synth_rate))
    start = round(float(song.tick_to_seconds(max(0, start_tick or 0))) * synth_rate)
    end = round(float(song.tick_to_seconds(max(0, end_tick or 0))) * synth_rate)
    return start, max(start, end)


def export_wav(
    song: Song,
    path: str | os.PathLike[str],
    sample_rate: int = 44100,
    start_tick: int | None = None,
    end_tick: int | None = None,
    mix: Mapping[int, TrackMix] | None = None,
    float32: bool = False,
    progress: Callable[[int, int], bool | None] | None = None,
    synth: Synth | None = None,
) -> int:
    """Write the song (or ticks [start_tick, end_tick), e.g. the loop) to a WAV file.

    Returns the number of frames written. `progress(done, total)` may return False to
    cancel (raises `ExportCancelled`, leaving any existing file unchanged). An empty song
    writes a valid, empty WAV file. `synth` (e.g. a SoundFont synth) must be a fresh
    instance at `sample_rate`; the built-in synthesizer is used by default.
    """
    sample_rate = check_sample_rate(sample_rate)
    target = Path(path)
    first, last = export_range(song, sample_rate, start_tick, end_tick)
    total = last - first
    if synth is None or synth.sample_rate != sample_rate:
        synth = Synth(sample_rate)
    limiter = Limiter(sample_rate)
    if float32:
        _write_float_wav(target, sample_rate, first, total, synth, song, limiter, mix, progress)
        return total
    rng = np.random.default_rng(0)
    try:
        with atomic_path(target) as tmp, wave.open(str(tmp), "wb") as out:
            out.setnchannels(2)
            out.setframerate(sample_rate)
            out.setsampwidth(2)
            for done in range(0, total, BLOCK):
                count = min(BLOCK, total - done)
                block = limiter.process(synth.render(song, first + done, count, mix))
                # TPDF dither: +-1 LSB triangular noise hides truncation distortion.
                noise = rng.random((count, 2)) - rng.random((count, 2))
                pcm = np.clip(np.round(block * 32767.0 + noise), -32768, 32767).astype("<i2")
                out.writeframes(pcm.tobytes())
                if progress is not None and progress(done + count, total) is False:
                    raise ExportCancelled(f"Export of {target.name} cancelled")
            if progress is not None and total == 0:
                progress(0, 0)
    except OSError as exc:
        raise ExportError(f"Cannot write {target}: {exc.strerror or exc}") from exc
    return total


def _write_float_wav(
    target: Path,
    sample_rate: int,
    first: int,
    total: int,
    synth: Synth,
    song: Song,
    limiter: Limiter,
    mix: Mapping[int, TrackMix] | None,
    progress: Callable[[int, int], bool | None] | None,
) -> None:
    # `wave` only writes PCM headers, so the IEEE-float header is built here.
    data_bytes = total * 2 * 4
    header = b"".join(
        [
            b"RIFF",
            (36 + data_bytes).to_bytes(4, "little"),
            b"WAVEfmt ",
            (16).to_bytes(4, "little"),
            (3).to_bytes(2, "little"),  # WAVE_FORMAT_IEEE_FLOAT
            (2).to_bytes(2, "little"),
            sample_rate.to_bytes(4, "little"),
            (sample_rate * 8).to_bytes(4, "little"),
            (8).to_bytes(2, "little"),
            (32).to_bytes(2, "little"),
            b"data",
            data_bytes.to_bytes(4, "little"),
        ]
    )
    try:
        with atomic_path(target) as tmp, open(tmp, "wb") as out:
            out.write(header)
            for done in range(0, total, BLOCK):
                count = min(BLOCK, total - done)
                block = limiter.process(synth.render(song, first + done, count, mix))
                out.write(block.astype("<f4").tobytes())
                if progress is not None and progress(done + count, total) is False:
                    raise ExportCancelled(f"Export of {target.name} cancelled")
    except OSError as exc:
        raise ExportError(f"Cannot write {target}: {exc.strerror or exc}") from exc


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV back as float32 ``[n, channels]`` (tests, checks)."""
    with wave.open(str(path), "rb") as f:
        rate = f.getframerate()
        channels = f.getnchannels()
        if f.getsampwidth() != 2:
            raise ExportError(f"{path}: only 16-bit PCM can be read back")
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return data.reshape(-1, channels).astype(np.float32) / 32768.0, rate
