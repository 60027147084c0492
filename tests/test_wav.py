"""WAV export: right length and rate, loop regions exact, atomic on cancel and on error."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from studio.audio.wav import ExportCancelled, ExportError, export_wav, read_wav
from studio.core.song import Notes, Song, Track

SR = 44100


def song() -> Song:
    return Song("w", tracks=[Track("p", program=19, notes=Notes([60, 67], [0, 960], [960, 960]))])


def test_song_export_is_the_song_plus_release(tmp_path) -> None:
    path = tmp_path / "song.wav"
    frames = export_wav(song(), path, SR)
    audio, rate = read_wav(path)
    assert rate == SR and len(audio) == frames
    assert len(audio) / SR == pytest.approx(2.0 + 0.09, abs=0.01)  # 4 beats at 120 + release
    assert 0.05 < np.abs(audio).max() <= 1.0
    assert not list(tmp_path.glob(".*tmp*")), "no temporary file is left behind"


def test_loop_region_export_is_exact_and_float_wav_is_valid(tmp_path) -> None:
    path = tmp_path / "loop.wav"
    frames = export_wav(song(), path, 48000, start_tick=480, end_tick=1440, float32=True)
    assert frames == 48000  # two beats at 120 bpm
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert int.from_bytes(data[20:22], "little") == 3  # IEEE float
    samples = np.frombuffer(data[44:], dtype="<f4").reshape(-1, 2)
    assert len(samples) == 48000 and np.abs(samples).max() > 0.05


def test_empty_song_writes_a_valid_empty_file(tmp_path) -> None:
    path = tmp_path / "empty.wav"
    assert export_wav(Song("empty"), path, SR) == 0
    with wave.open(str(path)) as f:
        assert f.getnframes() == 0 and f.getnchannels() == 2


def test_cancel_leaves_the_existing_file_untouched(tmp_path) -> None:
    path = tmp_path / "keep.wav"
    path.write_bytes(b"previous export")
    long = Song("long", tracks=[Track("p", notes=Notes([60], [0], [480 * 200]))])
    with pytest.raises(ExportCancelled):
        export_wav(long, path, SR, progress=lambda done, total: False)
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_unwritable_destination_names_the_file(tmp_path) -> None:
    target = tmp_path / "missing-folder" / "x.wav"
    with pytest.raises(ExportError, match=r"x\.wav"):
        export_wav(song(), target, SR)
