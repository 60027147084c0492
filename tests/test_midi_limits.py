"""The MIDI reader in bounded time and memory, lenient where the music is intact, with a
report of what it skipped; and whatever loads can be saved."""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from midi_bytes import bend, cc, ev, off, on, smf, tempo, time_signature, track, wait

from studio.core import limits
from studio.core.files import UnsupportedFileError, load_song_file
from studio.core.import_report import LoadCancelled, SongFileError
from studio.core.midi_io import (
    MidiImportError,
    load_midi_with_report,
    midi_bytes,
    parse_midi,
    parse_midi_with_report,
)
from studio.core.project import Project, project_to_dict
from studio.core.song import Notes, Song, Track
from studio.paths import bach_dataset_dir


def never_ended(n: int) -> bytes:
    """n note-ons that are never switched off, 3 bytes each (running status)."""
    return smf(0, 480, track(on(0, 60) + bytes((1, 61, 100)) * (n - 1)))


def peak_bytes(fn) -> int:
    tracemalloc.start()
    with contextlib.suppress(SongFileError):
        fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# --------------------------------------------------------------------- lenient reading
def test_system_messages_inside_tracks_are_skipped_with_their_data_and_reported() -> None:
    body = (
        on(0, 60)
        + ev(0, 0xF8)  # timing clock
        + ev(0, 0xF2, 0x10, 0x01)  # song position: 2 data bytes
        + ev(0, 0xF1, 0x22)  # time code quarter frame: 1 data byte
        + bytes((10, 62, 90))  # running status survives them: another note-on
        + ev(0, 0xFE)
        + off(20, 60)
        + off(0, 62)
    )
    song, report = parse_midi_with_report(smf(0, 480, track(body)), "clock.mid")
    notes = song.tracks[0].notes
    assert notes.pitch.tolist() == [60, 62]
    assert notes.start.tolist() == [0, 10]
    assert notes.duration.tolist() == [30, 20]
    text = str(report)
    assert "timing clock" in text and "song position" in text and "active sensing" in text
    assert "MIDI time code" in text


def test_clean_files_have_an_empty_report() -> None:
    for path in sorted(bach_dataset_dir().glob("*.mid"))[:20]:
        song, report = load_midi_with_report(path)
        assert song.note_count and not report, (path, report.items)


def test_never_ended_notes_and_pressure_are_reported() -> None:
    body = on(0, 60) + ev(5, 0xD0, 40) + ev(0, 0xA0, 60, 30) + on(10, 64) + off(10, 64)
    song, report = parse_midi_with_report(smf(0, 480, track(body)), "p.mid")
    assert song.note_count == 2
    assert any("never switched off" in item and "1 note" in item for item in report)
    assert any("2 aftertouch" in item for item in report)


# --------------------------------------------------------------------- bounds
def test_note_cap_is_enforced_while_reading_so_memory_stays_small(monkeypatch) -> None:
    data = never_ended(300_000)  # 0.9 MB that would make 300,000 notes (~16 MB to load)
    monkeypatch.setattr(limits, "MAX_NOTES", 1000)
    monkeypatch.setattr("studio.core.midi_io._CHECK_EVERY", 4096)
    with pytest.raises(MidiImportError, match="more than 1,000 notes"):
        parse_midi(data, "many.mid")
    # Refused within one chunk of events: memory is a small fraction of a full load.
    assert peak_bytes(lambda: parse_midi(data, "many.mid")) < 3 * 2**20


def test_event_cap_bounds_the_time_of_a_read(monkeypatch) -> None:
    # 400,000 pressure events: no notes at all, so only the event cap can stop them.
    data = smf(0, 480, track(ev(0, 0xD0, 1) + bytes((0, 1)) * 400_000))
    monkeypatch.setattr(limits, "MAX_EVENTS", 100_000)
    seen: list[float] = []
    with pytest.raises(MidiImportError, match="more than 100,000 events"):
        parse_midi_with_report(data, "busy.mid", progress=seen.append)
    assert seen and max(seen) < 0.5  # it stopped a quarter of the way in


def test_controller_cap(monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_CONTROLLERS", 10)
    data = smf(0, 480, track(b"".join(cc(1, 7, 100) for _ in range(11)) + on(0, 60) + off(1, 60)))
    with pytest.raises(MidiImportError, match="more than 10 controller events"):
        parse_midi(data, "cc.mid")


def test_thousands_of_tracks_are_refused_before_the_file_is_read(monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_TRACKS", 8)
    chunk = track(on(0, 60) + off(1, 60) + on(0, 62, channel=1) + off(1, 62, channel=1))
    data = smf(1, 480, *[chunk] * 2000)
    with pytest.raises(MidiImportError, match="more than 8 tracks"):
        parse_midi(data, "wide.mid")
    # Refused after the fifth chunk, not after all 2,000 were read into memory.
    assert peak_bytes(lambda: parse_midi(data, "wide.mid")) < 2 * 2**20


def test_a_flood_of_never_ended_notes_is_refused_long_before_its_end(monkeypatch) -> None:
    data = never_ended(2_000_000)  # 6 MB of note-ons; reading it all takes seconds
    monkeypatch.setattr(limits, "MAX_NOTES", 100_000)
    start = time.process_time()
    with pytest.raises(MidiImportError, match="more than 100,000 notes"):
        parse_midi(data, "flood.mid")
    assert time.process_time() - start < 2  # about 0.1 s: a twentieth of the file was read


def test_progress_rises_to_one_and_cancel_stops_the_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("studio.core.midi_io._CHECK_EVERY", 1000)
    data = smf(0, 480, track(b"".join(on(1, 60) + off(1, 60) for _ in range(5000))))
    path = tmp_path / "long.mid"
    path.write_bytes(data)
    seen: list[float] = []
    loaded = load_song_file(path, progress=seen.append)
    assert loaded.song.note_count == 5000 and not loaded.is_project
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 5
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(LoadCancelled):
        load_song_file(path, cancel=cancel)


# --------------------------------------------------------------------- whatever loads saves
def test_tempo_and_metre_past_the_longest_song_are_dropped_so_the_song_saves() -> None:
    # The shape of the two files that loaded but could not be saved: music at the start,
    # a tempo change some 1.9 billion ticks later.
    conductor = track(tempo(0, 90), wait(1_879_048_185), tempo(0, 120), time_signature(0, 3, 4))
    music = track(on(0, 60), off(480, 60))
    song, report = parse_midi_with_report(smf(1, 480, conductor, music), "late.mid")
    assert [t.bpm for t in song.tempos] == [90]
    assert len(song.time_signatures) == 1
    assert any("1 tempo change" in item for item in report)
    assert any("1 time signature" in item for item in report)
    again = parse_midi(midi_bytes(song), "again.mid")
    assert again.tracks[0].notes == song.tracks[0].notes


def test_notes_past_the_longest_song_are_refused_with_the_limit() -> None:
    data = smf(0, 480, track(wait(limits.MAX_TICK + 5), on(0, 60), off(1, 60)))
    with pytest.raises(MidiImportError, match=r"past tick 96,000,000 \(200,000 beats"):
        parse_midi(data, "far.mid")


def test_every_mutant_that_loads_can_be_saved_and_reads_back_the_same() -> None:
    rng = np.random.default_rng(11)
    seeds = [p.read_bytes() for p in sorted(bach_dataset_dir().glob("*.mid"))[:4]]
    seeds.append(
        smf(0, 96, track(on(0, 60), cc(3, 64, 127), bend(2, -8192), on(0, 61), off(9, 60)))
    )
    loaded = 0
    for k in range(300):
        data = bytearray(seeds[k % len(seeds)])
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(14, len(data)))
            data[pos] = int(rng.choice([0x00, 0x7F, 0x80, 0xF8, 0xFF, int(rng.integers(0, 256))]))
        try:
            song = parse_midi(bytes(data), "mutant.mid")
        except MidiImportError as exc:
            assert "mutant.mid" in str(exc)
            continue
        loaded += 1
        written = midi_bytes(song)
        project_to_dict(Project(song))
        back = parse_midi(written, "back.mid")
        assert len(back.tracks) == len(song.tracks)
        for before, after in zip(song.tracks, back.tracks, strict=True):
            assert after.notes.same_notes(before.notes)
            assert after.controllers == before.controllers
    assert loaded > 50


# --------------------------------------------------------------------- one entry point
def test_load_song_file_names_the_file_in_every_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UnsupportedFileError) as caught:
        load_song_file(text)
    assert str(text) in str(caught.value) and caught.value.path == str(text)
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00")
    with pytest.raises(MidiImportError) as caught_midi:
        load_song_file(bad)
    assert isinstance(caught_midi.value, SongFileError) and str(bad) in str(caught_midi.value)
    odd = tmp_path / "song.bin"  # unknown extension: sniffed from the bytes
    odd.write_bytes(smf(0, 480, track(on(0, 60), off(1, 60))))
    assert load_song_file(odd).song.note_count == 1


def test_an_ordinary_file_loads_in_under_ten_times_its_size() -> None:
    rng = np.random.default_rng(4)
    n = 10_000
    notes = Notes(
        rng.integers(36, 96, n),
        np.cumsum(rng.integers(0, 3, n)) * 120,
        rng.integers(1, 8, n) * 60,
        rng.integers(40, 128, n),
    )
    data = midi_bytes(Song("dense", 480, tracks=[Track("Piano", notes=notes)]))
    assert peak_bytes(lambda: parse_midi(data, "dense.mid")) < 10 * len(data)


def test_load_song_file_opens_projects_with_their_report(tmp_path: Path) -> None:
    import json

    from studio.core.project import save_project

    path = tmp_path / "song.pianola"
    save_project(Project(Song("Draft \ud800", tracks=[Track("A")]), [{"h": 3}], {}), path)
    seen: list[float] = []
    loaded = load_song_file(path, progress=seen.append)
    assert loaded.is_project and loaded.project is not None
    assert loaded.song.title == "Draft \ufffd" and loaded.project.track_view_state == [{"h": 3}]
    assert seen[-1] == 1.0
    assert json.loads(path.read_text(encoding="utf-8"))["song"]["title"] == "Draft \ufffd"
