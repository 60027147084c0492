"""MIDI import/export: hand-made nasty files, exact round trips, clear errors."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
from midi_bytes import (
    ev,
    header,
    meta,
    name,
    off,
    on,
    program,
    smf,
    tempo,
    time_signature,
    track,
    vlq,
)

from studio.core import limits, midi_io
from studio.core.midi_io import MidiImportError, load_midi, midi_bytes, parse_midi, save_midi
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track


def write(tmp_path: Path, data: bytes, filename: str = "x.mid") -> Path:
    path = tmp_path / filename
    path.write_bytes(data)
    return path


def notes_of(t: Track) -> list[tuple[int, int, int, int]]:
    return sorted(zip(*(c.tolist() for c in t.notes.columns()[:4]), strict=True))


# ---------------------------------------------------------------------------------------
# Reading hand-made files
# ---------------------------------------------------------------------------------------
def test_format0_splits_channels_into_tracks_with_programs_and_drums(tmp_path: Path) -> None:
    data = smf(
        0,
        96,
        track(
            name(0, "Whole Song"),
            tempo(0, 100),
            program(0, 40, channel=0),
            program(0, 33, channel=1),
            on(0, 60, 90, channel=0),
            on(0, 36, 80, channel=1),
            on(0, 38, 70, channel=9),
            off(96, 60, channel=0),
            off(0, 36, channel=1),
            off(0, 38, channel=9),
        ),
    )
    song = load_midi(write(tmp_path, data))
    assert song.ticks_per_beat == 96
    assert song.title == "Whole Song"
    assert song.tempos == [TempoChange(0, 100.0)]
    assert [(t.program, t.is_drum) for t in song.tracks] == [(40, False), (33, False), (0, True)]
    assert [t.name for t in song.tracks] == [
        "Violin (ch 1)",
        "Electric Bass (finger) (ch 2)",
        "Drums (ch 10)",
    ]
    assert notes_of(song.tracks[0]) == [(60, 0, 96, 90)]
    assert notes_of(song.tracks[2]) == [(38, 0, 96, 70)]


def test_format1_conductor_track_gives_title_and_tempo_and_metre_changes(tmp_path: Path) -> None:
    data = smf(
        1,
        480,
        track(
            name(0, "My Song"),
            time_signature(0, 3, 4),
            tempo(0, 90),
            tempo(1440, 140),
            time_signature(0, 6, 8),
        ),
        track(name(0, "Lead"), program(0, 73), on(0, 72), off(480, 72)),
        track(
            name(0, "Bass"),
            program(0, 32, channel=1),
            on(0, 40, channel=1),
            off(960, 40, channel=1),
        ),
    )
    song = load_midi(write(tmp_path, data))
    assert song.title == "My Song"
    assert song.tempos == [TempoChange(0, 90.0), TempoChange(1440, 140.0)]
    assert song.time_signatures == [TimeSignature(0, 3, 4), TimeSignature(1440, 6, 8)]
    assert [(t.name, t.program) for t in song.tracks] == [("Lead", 73), ("Bass", 32)]
    assert notes_of(song.tracks[1]) == [(40, 0, 960, 100)]


def test_tempo_in_a_later_track_and_midi_default_tempo_before_it(tmp_path: Path) -> None:
    data = smf(1, 480, track(name(0, "t")), track(on(0, 60), tempo(480, 60), off(480, 60)))
    song = load_midi(write(tmp_path, data))
    # A MIDI file without a tempo at tick 0 plays at 120 bpm until its first tempo event.
    assert song.tempos == [TempoChange(0, 120.0), TempoChange(480, 60.0)]


def test_running_status_and_velocity_zero_note_off(tmp_path: Path) -> None:
    body = (
        ev(0, 0x90, 60, 100)  # note-on with status
        + ev(0, 64, 90)  # running status: another note-on
        + ev(240, 60, 0)  # running status, velocity 0: note-off for 60
        + ev(240, 64, 0)
        + ev(0, 67, 80)
        + ev(120, 67, 0)
    )
    song = load_midi(write(tmp_path, smf(0, 480, track(body))))
    assert notes_of(song.tracks[0]) == [(60, 0, 240, 100), (64, 0, 480, 90), (67, 480, 120, 80)]


def test_running_status_survives_meta_events_in_between(tmp_path: Path) -> None:
    body = ev(0, 0x90, 60, 100) + meta(0, 0x01, b"text") + ev(100, 60, 0)
    song = load_midi(write(tmp_path, smf(0, 480, track(body))))
    assert notes_of(song.tracks[0]) == [(60, 0, 100, 100)]


def test_overlapping_notes_of_one_pitch_pair_first_on_first_off(tmp_path: Path) -> None:
    body = on(0, 60, 100) + on(100, 60, 50) + off(100, 60) + off(100, 60)
    song = load_midi(write(tmp_path, smf(0, 480, track(body))))
    assert notes_of(song.tracks[0]) == [(60, 0, 200, 100), (60, 100, 200, 50)]


def test_note_on_before_previous_note_off_at_same_tick_gives_two_notes(tmp_path: Path) -> None:
    # Some sequencers write "on" before the old note's "off" at the boundary tick.
    body = on(0, 60, 100) + on(480, 60, 90) + off(0, 60) + off(480, 60)
    song = load_midi(write(tmp_path, smf(0, 480, track(body))))
    assert notes_of(song.tracks[0]) == [(60, 0, 480, 100), (60, 480, 480, 90)]


def test_zero_length_note_lasts_one_tick(tmp_path: Path) -> None:
    body = on(10, 60, 100) + off(0, 60) + on(0, 62) + off(5, 62)
    song = load_midi(write(tmp_path, smf(0, 480, track(body))))
    assert notes_of(song.tracks[0]) == [(60, 10, 1, 100), (62, 10, 5, 100)]


def test_notes_never_switched_off_last_until_the_track_ends(tmp_path: Path) -> None:
    body = on(0, 60) + on(240, 64) + off(240, 64) + ev(960, 0xB0, 64, 0)  # CC at 1440
    song = load_midi(write(tmp_path, smf(0, 480, track(body))))
    assert notes_of(song.tracks[0]) == [(60, 0, 1440, 100), (64, 240, 240, 100)]


def test_notes_never_switched_off_last_until_the_file_ends(tmp_path: Path) -> None:
    data = smf(
        1,
        480,
        track(name(0, "T")),
        track(name(0, "hangs"), on(0, 60), on(0, 64), off(10, 64)),
        track(name(0, "longer"), on(0, 48), off(1920, 48)),
    )
    song = load_midi(write(tmp_path, data))
    assert notes_of(song.tracks[0]) == [(60, 0, 1920, 100), (64, 0, 10, 100)]


def test_note_off_without_note_on_is_ignored(tmp_path: Path) -> None:
    body = off(0, 50) + on(0, 60) + off(10, 60) + off(10, 60)
    song = load_midi(write(tmp_path, smf(0, 480, track(body))))
    assert notes_of(song.tracks[0]) == [(60, 0, 10, 100)]


def test_missing_end_of_track_is_tolerated(tmp_path: Path) -> None:
    song = load_midi(write(tmp_path, smf(0, 480, track(on(0, 60), off(10, 60), end=False))))
    assert len(song.tracks[0].notes) == 1


@pytest.mark.parametrize(
    ("raw", "encoding", "expected"),
    [
        ("Flûte à bec", "utf-8", "Flûte à bec"),
        ("ピアノ", "utf-8", "ピアノ"),
        ("Flûte", "latin-1", "Flûte"),  # an 8-bit code page, not UTF-8
    ],
)
def test_non_ascii_track_names(tmp_path: Path, raw: str, encoding: str, expected: str) -> None:
    data = smf(
        1, 480, track(name(0, "Title")), track(name(0, raw, encoding), on(0, 60), off(1, 60))
    )
    assert load_midi(write(tmp_path, data)).tracks[0].name == expected


def test_sysex_and_unknown_chunks_are_skipped(tmp_path: Path) -> None:
    sysex = vlq(0) + b"\xf0" + vlq(4) + b"\x7e\x7f\x09\x01" + vlq(0) + b"\xf7" + vlq(1) + b"\xf7"
    alien = b"XFIH" + struct.pack(">I", 3) + b"abc"
    data = smf(0, 480, track(sysex, on(0, 60), off(10, 60)))
    data = data[:14] + alien + data[14:]
    assert len(load_midi(write(tmp_path, data)).tracks[0].notes) == 1


def test_rmid_riff_wrapper_is_unwrapped(tmp_path: Path) -> None:
    inner = smf(0, 480, track(on(0, 60), off(10, 60)))
    chunk = b"data" + struct.pack("<I", len(inner)) + inner
    riff = b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"RMID" + chunk
    assert len(load_midi(write(tmp_path, riff, "x.rmi")).tracks[0].notes) == 1


def test_empty_track_with_program_is_kept_and_conductor_is_not(tmp_path: Path) -> None:
    data = smf(1, 480, track(name(0, "T")), track(name(0, "Empty"), program(0, 5)))
    song = load_midi(write(tmp_path, data))
    assert [(t.name, t.program, len(t.notes)) for t in song.tracks] == [("Empty", 5, 0)]


def test_untitled_file_takes_its_title_from_the_file_name(tmp_path: Path) -> None:
    data = smf(1, 480, track(tempo(0, 120)), track(on(0, 60), off(10, 60)))
    assert load_midi(write(tmp_path, data, "Étude 3.mid")).title == "Étude 3"


def test_program_change_after_first_note_and_in_other_track(tmp_path: Path) -> None:
    data = smf(
        1,
        480,
        track(program(0, 24, channel=2)),  # channel state is global across tracks
        track(on(0, 60, channel=2), off(10, 60, channel=2)),
        track(on(0, 60, channel=3), program(10, 11, channel=3), off(0, 60, channel=3)),
    )
    song = load_midi(write(tmp_path, data))
    assert [t.program for t in song.tracks] == [24, 11]


def test_absurd_tempos_are_clamped_and_bad_metres_ignored(tmp_path: Path) -> None:
    conductor = track(
        meta(0, 0x51, (1).to_bytes(3, "big")),  # 60,000,000 bpm
        meta(0, 0x58, bytes((0, 2, 24, 8))),  # numerator 0
        meta(0, 0x58, bytes((4, 9, 24, 8))),  # denominator 512
    )
    song = load_midi(write(tmp_path, smf(1, 480, conductor, track(on(0, 60), off(1, 60)))))
    assert song.tempos == [TempoChange(0, 999.0)]
    assert song.time_signatures == [TimeSignature(0, 4, 4)]


# ---------------------------------------------------------------------------------------
# Bad files: a MidiImportError naming file and reason, never a raw error or a hang
# ---------------------------------------------------------------------------------------
GOOD = smf(1, 480, track(name(0, "T"), tempo(0, 120)), track(on(0, 60), off(480, 60)))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"hello, I am a text file\n", "not a MIDI file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a MIDI file"),
        (b"MThd\x00\x00", "truncated"),
        (GOOD[:20], "truncated"),
        (GOOD[:-3], "truncated"),
        (GOOD[: len(GOOD) // 2], "truncated"),
        (smf(1, 0xE728, track(on(0, 60), off(10, 60))), "SMPTE"),
        (smf(1, 0, track(on(0, 60), off(10, 60))), "0 ticks per beat"),
        (smf(3, 480, track()), "format 3"),
        (smf(1, 480), "no tracks"),
        (header(1, 2, 480) + track(on(0, 60)), "promises 2 track"),
        (smf(0, 480, track(ev(0, 60, 100))), "data byte"),
        (smf(0, 480, track(b"\xff\xff\xff\xff\x7f\x90\x3c\x40")), "delta time longer"),
        (smf(0, 480, track(ev(0, 0x90, 200, 100))), "invalid data byte"),
        (smf(0, 480, track(ev(0, 0xF4))), "status byte 0xf4"),
        (smf(0, 480, track(vlq(0) + b"\xff\x03" + vlq(50) + b"short")), "truncated"),
        (smf(0, 480, track(vlq(0) + b"\x90\x3c", end=False)), "truncated"),
        (b"MThd" + struct.pack(">IHHH", 6, 1, 1, 480) + b"\x00\x01\x02\x03garbage", "corrupt"),
    ],
)
def test_bad_files_raise_midi_import_error_naming_file_and_reason(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    path = write(tmp_path, data, "bad file.mid")
    with pytest.raises(MidiImportError) as caught:
        load_midi(path)
    message = str(caught.value)
    assert str(path) in message
    assert reason in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(MidiImportError, match="does not exist"):
        load_midi(tmp_path / "nope.mid")
    with pytest.raises(MidiImportError, match="folder"):
        load_midi(tmp_path)


def test_oversized_file_is_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_MIDI_BYTES", len(GOOD) - 1)
    with pytest.raises(MidiImportError, match="too large"):
        load_midi(write(tmp_path, GOOD))


def test_absurd_note_count_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_NOTES", 3)
    body = b"".join(on(0, 60) + off(1, 60) for _ in range(5))
    with pytest.raises(MidiImportError, match="more than 3 notes"):
        parse_midi(smf(0, 480, track(body)), "many.mid")


def test_absurd_time_is_refused() -> None:
    body = b"".join(ev(0x0FFFFFFF, 0xB0, 1, 0) for _ in range(9)) + on(0, 60) + off(1, 60)
    with pytest.raises(MidiImportError, match="run past tick"):
        parse_midi(smf(0, 480, track(body)), "long.mid")


def test_absurdly_long_song_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_BEATS", 100)
    assert parse_midi(smf(0, 10, track(on(0, 60), off(1000, 60))), "ok.mid").end_tick == 1000
    with pytest.raises(MidiImportError, match=r"run past tick 1,000 \(100 beats"):
        parse_midi(smf(0, 10, track(on(0, 60), off(1001, 60))), "long.mid")


def test_random_corruptions_never_leak_raw_errors() -> None:
    rng = np.random.default_rng(7)
    good = midi_bytes(_example_song())
    for _ in range(400):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 6))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        cut = int(rng.integers(1, len(data) + 1))
        try:
            parse_midi(bytes(data[:cut]), "fuzz.mid")
        except MidiImportError as exc:
            assert "fuzz.mid" in str(exc)


# ---------------------------------------------------------------------------------------
# Writing and round trips
# ---------------------------------------------------------------------------------------
def _example_song() -> Song:
    return Song(
        "Sønata №1",
        384,
        [TempoChange(0, 96.0), TempoChange(1536, 133.5)],
        [TimeSignature(0, 4, 4), TimeSignature(1536, 7, 8)],
        [
            Track(
                "Piano ♪",
                0,
                notes=Notes(
                    [60, 64, 67, 60, 60],
                    [0, 0, 0, 384, 384],
                    [384, 384, 768, 384, 1],
                    [1, 64, 127, 80, 90],
                ),
            ),
            Track("Kit", 0, True, notes=Notes([36, 38], [0, 200], [10, 10], [100, 90])),
            Track("Empty strings", 48),
            Track("Cello", 42, notes=Notes([48, 48, 48], [0, 100, 500], [100, 400, 20000])),
        ],
    )


def assert_same_song(a: Song, b: Song) -> None:
    assert b.title == a.title
    assert b.ticks_per_beat == a.ticks_per_beat
    assert b.tempos == a.tempos
    assert b.time_signatures == a.time_signatures
    assert [(t.name, t.program, t.is_drum) for t in b.tracks] == [
        (t.name, t.program, t.is_drum) for t in a.tracks
    ]
    for ta, tb in zip(a.tracks, b.tracks, strict=True):
        assert notes_of(tb) == notes_of(ta)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    song = _example_song()
    save_midi(song, tmp_path / "a.mid")
    once = load_midi(tmp_path / "a.mid")
    assert_same_song(song, once)
    save_midi(once, tmp_path / "b.mid")
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()


def test_round_trip_of_the_nasty_files_is_stable(tmp_path: Path) -> None:
    body = (
        ev(0, 0x90, 60, 100) + ev(0, 64, 90) + ev(240, 60, 0) + on(0, 60, 30) + ev(240, 0x90, 64, 0)
    )
    first = load_midi(write(tmp_path, smf(0, 96, track(name(0, "Ünï"), body))))
    save_midi(first, tmp_path / "again.mid")
    assert_same_song(first, load_midi(tmp_path / "again.mid"))


def test_more_than_fifteen_melodic_tracks_round_trip(tmp_path: Path) -> None:
    tracks = [Track(f"T{k}", k, notes=Notes([60 + k], [k * 10], [5])) for k in range(20)]
    tracks.insert(5, Track("Drums", 0, True, notes=Notes([36], [0], [5])))
    song = Song("many", 480, tracks=tracks)
    save_midi(song, tmp_path / "many.mid")
    assert_same_song(song, load_midi(tmp_path / "many.mid"))


def test_written_file_reads_the_same_in_mido_and_pretty_midi(tmp_path: Path) -> None:
    song = _example_song()
    path = tmp_path / "x.mid"
    save_midi(song, path)
    mid = mido.MidiFile(path)
    assert mid.type == 1 and mid.ticks_per_beat == 384
    assert len(mid.tracks) == 1 + len(song.tracks)
    pm = pretty_midi.PrettyMIDI(str(path))
    assert pm.resolution == 384
    # pretty_midi times are seconds; compare the piano's note starts through our tempo map.
    piano = next(i for i in pm.instruments if not i.is_drum and i.program == 0)
    starts = sorted(round(song.seconds_to_tick(n.start)) for n in piano.notes)
    assert starts == sorted(song.tracks[0].notes.start.tolist())
    drums = next(i for i in pm.instruments if i.is_drum)
    assert sorted(n.pitch for n in drums.notes) == [36, 38]


def test_reads_pretty_midi_output(tmp_path: Path) -> None:
    pm = pretty_midi.PrettyMIDI(resolution=220, initial_tempo=100.0)
    inst = pretty_midi.Instrument(program=25, name="Gitarre")
    for k in range(8):
        inst.notes.append(
            pretty_midi.Note(velocity=70 + k, pitch=50 + k, start=k * 0.3, end=k * 0.3 + 0.5)
        )
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "pm.mid"))
    song = load_midi(tmp_path / "pm.mid")
    (track_,) = song.tracks
    assert (track_.name, track_.program, len(track_.notes)) == ("Gitarre", 25, 8)
    assert song.ticks_per_beat == 220 and song.tempos[0].bpm == pytest.approx(100.0)
    seconds = song.tick_to_seconds(track_.notes.start)
    assert np.allclose(seconds, [k * 0.3 for k in range(8)], atol=1 / 220)


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "song.mid"
    path.write_bytes(b"old contents")

    def explode(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", explode)
    with pytest.raises(OSError):
        save_midi(_example_song(), path)
    assert path.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]


def test_save_refuses_a_song_midi_cannot_hold() -> None:
    song = Song(tracks=[Track(notes=Notes([60, 60], [0, 2**29], [1, 1]))])
    with pytest.raises(midi_io.MidiExportError, match="too long"):
        midi_bytes(song)


def test_absurd_track_count_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TRACKS", 4)
    body = b"".join(on(0, 60, channel=c) + off(1, 60, channel=c) for c in range(3))
    data = smf(1, 480, track(body), track(body))
    with pytest.raises(MidiImportError, match="more than 4 tracks"):
        parse_midi(data, "wide.mid")
    assert len(parse_midi(smf(1, 480, track(body)), "ok.mid").tracks) == 3


def test_key_signatures_round_trip_and_bad_ones_are_reported() -> None:
    from studio.core.midi_io import parse_midi_with_report
    from studio.core.song import KeySignature

    data = smf(
        0,
        480,
        track(
            meta(0, 0x59, bytes((0xFD, 1))),  # 3 flats, minor: C minor
            on(0, 60),
            meta(480, 0x59, bytes((2, 0))),  # D major
            off(0, 60),
            meta(0, 0x59, bytes((9, 0))),  # invalid: 9 sharps
        ),
    )
    song, report = parse_midi_with_report(data, "keys.mid")
    assert song.key_signatures == [KeySignature(0, -3, True), KeySignature(480, 2, False)]
    assert song.key_signature_at(479) == KeySignature(0, -3, True)
    assert any("1 invalid key signature" in item for item in report)
    assert parse_midi(midi_bytes(song)).key_signatures == song.key_signatures
    assert parse_midi(smf(0, 480, track(on(0, 60), off(1, 60)))).key_signatures == []
