"""MusicXML import and export through music21 (studio/core/musicxml.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from studio.core.midi_io import load_midi
from studio.core.musicxml import (
    MusicXmlExportError,
    MusicXmlImportError,
    estimate_key,
    load_musicxml,
    save_musicxml,
    score_to_song,
)
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track

CHORALES = Path(__file__).resolve().parents[1] / "resources" / "datasets" / "bach_chorales"
SAMPLE = ("bwv10.7.mid", "bwv101.7.mid", "bwv104.6.mid", "bwv110.7.mid", "bwv11.6.mid")


def _rows(notes: Notes) -> list[tuple[int, int, int, int]]:
    return sorted(zip(*(c.tolist() for c in notes.columns()[:4]), strict=True))


@pytest.mark.parametrize("name", SAMPLE)
@pytest.mark.parametrize("suffix", [".musicxml", ".mxl"])
def test_bundled_chorales_round_trip(tmp_path: Path, name: str, suffix: str) -> None:
    song = load_midi(CHORALES / name)
    report = save_musicxml(song, tmp_path / f"c{suffix}")
    assert report.parts == 4 and report.notes == song.note_count and report.moved_to_grid == 0
    back = load_musicxml(tmp_path / f"c{suffix}")
    assert back.ticks_per_beat == song.ticks_per_beat == 480
    assert [t.name for t in back.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert [t.program for t in back.tracks] == [t.program for t in song.tracks]
    for original, returned in zip(song.tracks, back.tracks, strict=True):
        # pitches, onsets, durations and even velocities (MusicXML's note dynamics)
        assert _rows(returned.notes) == _rows(original.notes)
    assert back.tempos == song.tempos
    assert back.time_signatures == song.time_signatures
    assert back.title == song.title


def _polyphonic_song() -> Song:
    rng = np.random.default_rng(7)
    n = 200
    piano = Notes(
        rng.integers(40, 90, n),
        rng.integers(0, 64, n) * 120,
        rng.integers(1, 9, n) * 120,
        rng.integers(20, 127, n),
    )
    drums = Notes([36, 38, 42], [0, 480, 240], [120, 120, 60], [100, 90, 80])
    flute = Notes([72, 74, 76, 77], [0, 160, 320, 487], [160, 160, 160, 100])
    return Song(
        "Mixed",
        480,
        [TempoChange(0, 100), TempoChange(3840, 133.5)],
        [TimeSignature(0, 4, 4), TimeSignature(5760, 3, 4), TimeSignature(7200, 6, 8)],
        [
            Track("Piano", 0, notes=piano),
            Track("Kit", 0, is_drum=True, notes=drums),
            Track("Flute", 73, notes=flute),
            Track("Strings", 48),
        ],
    )


def test_overlapping_voices_drums_tempo_and_meter_changes_survive(tmp_path: Path) -> None:
    song = _polyphonic_song()
    report = save_musicxml(song, tmp_path / "mixed.musicxml")
    back = load_musicxml(tmp_path / "mixed.musicxml")
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        (t.name, t.program, t.is_drum) for t in song.tracks
    ]
    # Overlapping notes of one pitch, chords with different velocities, ties over bar
    # lines and meter changes: all come back exactly.
    assert _rows(back.tracks[0].notes) == _rows(song.tracks[0].notes)
    assert _rows(back.tracks[1].notes) == _rows(song.tracks[1].notes)
    assert len(back.tracks[3].notes) == 0
    assert back.tempos == song.tempos
    assert back.time_signatures == song.time_signatures
    # Triplets are on the notation grid; the note at tick 487 is not and moves to 480.
    flute = _rows(back.tracks[2].notes)
    assert [(p, s) for p, s, _, _ in flute] == [(72, 0), (74, 160), (76, 320), (77, 480)]
    assert report.moved_to_grid == 1


def test_export_writes_parts_key_time_signature_and_tempo(tmp_path: Path) -> None:
    song = load_midi(CHORALES / "bwv10.7.mid")
    save_musicxml(song, tmp_path / "c.musicxml")
    text = (tmp_path / "c.musicxml").read_text(encoding="utf-8")
    assert text.count("<score-part ") == 4
    assert "<part-name>Soprano</part-name>" in text
    assert "<fifths>-2</fifths>" in text  # G minor: two flats
    assert "<beats>4</beats>" in text and "<beat-type>4</beat-type>" in text
    assert "<per-minute>90</per-minute>" in text


def test_key_estimate() -> None:
    def scale_song(tonic: int, steps: tuple[int, ...]) -> Song:
        pitches = [60 + tonic + s for s in steps] + [60 + tonic] * 4
        notes = Notes(pitches, [480 * k for k in range(len(pitches))], [480] * len(pitches))
        return Song(tracks=[Track(notes=notes)])

    assert estimate_key(scale_song(2, (0, 2, 4, 5, 7, 9, 11))) == (2, "D major")
    assert estimate_key(scale_song(5, (0, 2, 4, 5, 7, 9, 10))) == (-1, "F major")
    assert estimate_key(Song(tracks=[Track()])) == (0, "C major")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.musicxml", b"<score-partwise><part id='P1'><measure>", "not valid MusicXML"),
        ("zip.mxl", b"PK\x03\x04 not really a zip", "not valid MusicXML"),
        ("empty.xml", b"", "empty"),
    ],
)
def test_unreadable_file_raises_a_typed_error_naming_it(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MusicXmlImportError) as info:
        load_musicxml(path)
    assert str(path) in str(info.value) and reason in str(info.value)
    assert path.read_bytes() == content  # nothing lost


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MusicXmlImportError, match="does not exist"):
        load_musicxml(tmp_path / "nope.musicxml")


def test_failed_export_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.musicxml"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(MusicXmlExportError):
        save_musicxml(_polyphonic_song(), tmp_path / "missing-folder" / "x.musicxml")
    assert target.read_text(encoding="utf-8") == "old"


def test_importing_studio_core_does_not_import_music21() -> None:
    code = "import sys, studio.core.musicxml, studio.core.song;print('music21' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_quintuplets_and_sextuplets_stay_exact(tmp_path: Path) -> None:
    # Five 16th-note quintuplets (96 ticks), then six 16th-note sextuplets (80 ticks).
    starts = [96 * k for k in range(5)] + [480 + 80 * k for k in range(6)]
    durations = [96] * 5 + [80] * 6
    song = Song(tracks=[Track("Flute", 73, notes=Notes(range(60, 71), starts, durations))])
    report = save_musicxml(song, tmp_path / "tuplets.musicxml")
    assert report.moved_to_grid == 0
    back = load_musicxml(tmp_path / "tuplets.musicxml")
    assert _rows(back.tracks[0].notes) == _rows(song.tracks[0].notes)


def test_sustain_pedal_becomes_pedal_marks_and_comes_back(tmp_path: Path) -> None:
    from studio.core.song import SUSTAIN, Controllers

    song = load_midi(CHORALES / "bwv10.7.mid")
    bass = song.tracks[3]
    # Two presses that meet at bar 2 (a pedal change: up and down at one tick), and a third.
    pedal = Controllers([0, 1920, 1920, 3840, 5760, 6720], [SUSTAIN] * 6, [127, 0, 127, 0, 100, 0])
    song.tracks[3] = Track(bass.name, bass.program, notes=bass.notes, controllers=pedal)
    save_musicxml(song, tmp_path / "pedal.musicxml")
    assert (tmp_path / "pedal.musicxml").read_text(encoding="utf-8").count("<pedal ") == 6
    back = load_musicxml(tmp_path / "pedal.musicxml")
    spans = back.tracks[3].controllers.sustain_spans(back.end_tick).tolist()
    assert spans == [[0, 1920], [1920, 3840], [5760, 6720]]
    assert all(len(t.controllers) == 0 for t in back.tracks[:3])


def test_pedal_inside_a_long_note_moves_to_the_note_boundaries(tmp_path: Path) -> None:
    from studio.core.song import SUSTAIN, Controllers

    notes = Notes([60, 64], [0, 960], [960, 960])
    pedal = Controllers([240, 1200], [SUSTAIN, SUSTAIN], [127, 0])
    song = Song(tracks=[Track("Piano", notes=notes, controllers=pedal)])
    save_musicxml(song, tmp_path / "p.musicxml")
    back = load_musicxml(tmp_path / "p.musicxml")
    # Down at the first note starting while it is down, up where the last one ends.
    assert back.tracks[0].controllers.sustain_spans(back.end_tick).tolist() == [[960, 1920]]


def _small_score(pickup: bool = False):
    """Two parts in 3/4 at 100 bpm. Melody: C4, a rest, D4 tied over the bar line,
    E4 (velocity 64); bass: a C3-G3 chord, a rest, and a bar of rest. ``pickup``: the
    first bar is a one-beat anacrusis (the tied D4; a rest in the bass), padded as
    music21's readers pad one."""
    from music21 import chord, metadata, meter, note, stream, tempo, tie

    score = stream.Score()
    score.metadata = metadata.Metadata(title="Small")
    melody = stream.Part()
    melody.partName = "Melody"
    bass = stream.Part()
    first, second = stream.Measure(number=1), stream.Measure(number=2)
    first.append([meter.TimeSignature("3/4"), tempo.MetronomeMark(number=100)])
    tied = note.Note("D4", quarterLength=1)
    tied.tie = tie.Tie("start")
    if pickup:
        first.append(tied)
        first.padAsAnacrusis()
    else:
        first.append([note.Note("C4", quarterLength=1), note.Rest(quarterLength=1), tied])
    held = note.Note("D4", quarterLength=1)
    held.tie = tie.Tie("stop")
    loud = note.Note("E4", quarterLength=2)
    loud.volume.velocity = 64
    second.append([held, loud])
    melody.append([first, second])
    low, empty = stream.Measure(number=1), stream.Measure(number=2)
    low.append(meter.TimeSignature("3/4"))
    if pickup:
        low.append(note.Rest(quarterLength=1))
        low.padAsAnacrusis()
    else:
        low.append([chord.Chord(["C3", "G3"], quarterLength=2), note.Rest(quarterLength=1)])
    empty.append(note.Rest(quarterLength=3))
    bass.append([low, empty])
    score.insert(0, melody)
    score.insert(0, bass)
    return score


def test_score_to_song_joins_ties_keeps_rests_and_reads_the_score() -> None:
    song = score_to_song(_small_score())
    assert song.title == "Small" and song.ticks_per_beat == 480
    assert song.time_signatures == [TimeSignature(0, 3, 4)]
    assert song.tempos == [TempoChange(0, 100)]
    assert [t.name for t in song.tracks] == ["Melody", "Part 2"]
    # (pitch, start, duration, velocity): the rest leaves a beat's gap, the tie makes one
    # two-beat D4 across the bar line, E4 keeps its own velocity (90 where none is given).
    assert _rows(song.tracks[0].notes) == [
        (60, 0, 480, 90),
        (62, 960, 960, 90),
        (64, 1920, 960, 64),
    ]
    assert _rows(song.tracks[1].notes) == [(48, 0, 960, 90), (55, 0, 960, 90)]


def test_score_to_song_options_for_the_dataset_scripts() -> None:
    song = score_to_song(_small_score(), "Given", velocity=70, default_bpm=90, read_tempos=False)
    assert song.title == "Given"
    assert song.tempos == [TempoChange(0, 90)]  # the score's mark ignored
    assert {int(v) for t in song.tracks for v in t.notes.velocity} == {70}
    # default_bpm fills only the start; a mark there wins.
    assert score_to_song(_small_score(), default_bpm=90).tempos == [TempoChange(0, 100)]


def test_score_to_song_pads_a_pickup_to_the_bar_line() -> None:
    song = score_to_song(_small_score(pickup=True))
    assert len(song.tracks[1].notes) == 0  # a part of rests is a track without notes
    # A one-beat pickup of a 3/4 bar starts two beats in; bar 2 starts on the bar line.
    assert _rows(song.tracks[0].notes) == [(62, 960, 960, 90), (64, 1920, 960, 64)]
    # What stands at the score's start (metre, tempo) holds from tick 0.
    assert song.time_signatures == [TimeSignature(0, 3, 4)]
    assert song.tempos == [TempoChange(0, 100)]


def test_key_signatures_round_trip_with_their_mode(tmp_path: Path) -> None:
    """The song's key signature is written (with its mode) and read back; a song
    without one gets the estimate, which reads back as the song's key signature."""
    from studio.core.song import KeySignature

    chorale = load_midi(CHORALES / "bwv10.7.mid")
    assert chorale.key_signatures == []
    save_musicxml(chorale, tmp_path / "g.musicxml")
    assert load_musicxml(tmp_path / "g.musicxml").key_signatures == [KeySignature(0, -2, True)]

    chorale.key_signatures = [KeySignature(0, 3, False), KeySignature(1920 * 2, 0, True)]
    report = save_musicxml(chorale, tmp_path / "a.musicxml")
    assert report.key == "A major"  # what the song says, not what its notes suggest
    text = (tmp_path / "a.musicxml").read_text(encoding="utf-8")
    assert "<fifths>3</fifths>" in text and "<mode>major</mode>" in text
    back = load_musicxml(tmp_path / "a.musicxml")
    assert back.key_signatures == chorale.key_signatures


def test_a_key_signature_without_a_mode_reads_as_the_notes_suggest() -> None:
    from music21 import key, note, stream

    part = stream.Part()
    part.insert(0, key.KeySignature(-2))  # two flats, no <mode>: B flat major or G minor
    for k, name in enumerate(["G4", "B-4", "D5", "F#4", "G4", "D4", "E-4", "G4"]):
        part.insert(k, note.Note(name, quarterLength=1))
    part.insert(8, note.Note("G3", quarterLength=4))
    score = stream.Score([part])
    assert score_to_song(score).key_signatures[0].minor is True
    assert score_to_song(score, read_keys=False).key_signatures == []
