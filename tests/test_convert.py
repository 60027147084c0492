"""convert_file: MIDI, MusicXML and projects by extension (studio/core/convert.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from studio.core.convert import ConvertError, convert_file
from studio.core.midi_io import load_midi, save_midi
from studio.core.project import Project, load_project, save_project
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track

CHORALE = Path(__file__).resolve().parents[1] / "resources/datasets/bach_chorales/bwv10.7.mid"


def _song() -> Song:
    return Song(
        "Two parts",
        480,
        [TempoChange(0, 96), TempoChange(1920, 120)],
        [TimeSignature(0, 3, 4), TimeSignature(2880, 4, 4)],
        [
            Track(
                "Lead", 73, notes=Notes([72, 74, 76], [0, 480, 960], [480, 480, 960], [90, 80, 70])
            ),
            Track("Bass", 32, notes=Notes([36, 43], [0, 1440], [1440, 1440], [100, 100])),
        ],
    )


def _same_music(a: Song, b: Song) -> None:
    assert [(t.name, t.program, t.is_drum) for t in a.tracks] == [
        (t.name, t.program, t.is_drum) for t in b.tracks
    ]
    for x, y in zip(a.tracks, b.tracks, strict=True):
        assert x.notes.same_notes(y.notes)
    assert a.tempos == b.tempos and a.time_signatures == b.time_signatures


def test_chain_through_every_format_keeps_the_music(tmp_path: Path) -> None:
    song = _song()
    save_midi(song, tmp_path / "a.mid")
    steps = ["a.mid", "b.musicxml", "c.pianola", "d.mxl", "e.mid"]
    for src, dst in itertools.pairwise(steps):
        report = convert_file(tmp_path / src, tmp_path / dst)
        assert report.tracks == 2 and report.notes == 5 and Path(report.dst).exists()
    _same_music(load_midi(tmp_path / "e.mid"), song)
    assert load_project(tmp_path / "c.pianola").song.title == "Two parts"


def test_project_keeps_view_state_and_reports_what_midi_cannot_hold(tmp_path: Path) -> None:
    song = _song()
    song.tracks[1].mute = True
    save_project(
        Project(song, [{"active": False}, {"active": True}], {"bars": 8}), tmp_path / "p.pianola"
    )
    copy = convert_file(tmp_path / "p.pianola", tmp_path / "q.pianola")
    assert copy.lost == ()
    project = load_project(tmp_path / "q.pianola")
    assert project.track_view_state[1] == {"active": True}
    assert project.generation_settings == {"bars": 8}
    assert project.song.tracks[1].mute
    report = convert_file(tmp_path / "p.pianola", tmp_path / "m.mid")
    assert report.lost == ("mute and solo",)
    assert "Not kept in this format: mute and solo" in report.summary()


def test_summary_counts_read_naturally(tmp_path: Path) -> None:
    song = Song("One", tracks=[Track("Solo", notes=Notes([60], [0], [480]))])
    save_midi(song, tmp_path / "one.mid")
    report = convert_file(tmp_path / "one.mid", tmp_path / "one.musicxml")
    assert report.summary() == (
        f"Wrote {tmp_path / 'one.musicxml'}: 1 track, 1 note, 1 tempo, 1 time signature"
    )
    chorale = convert_file(CHORALE, tmp_path / "c.mxl")
    assert chorale.summary().startswith(f"Wrote {tmp_path / 'c.mxl'}: 4 tracks, 206 notes")


def test_off_grid_notes_are_reported_when_writing_musicxml(tmp_path: Path) -> None:
    song = Song(tracks=[Track("Piano", notes=Notes([60, 62], [0, 487], [480, 100]))])
    save_midi(song, tmp_path / "x.mid")
    report = convert_file(tmp_path / "x.mid", tmp_path / "x.musicxml")
    assert any("exact timing of 1 note" in item for item in report.lost)


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        ("a.mid", "a.wav", "unknown file type"),
        ("a.txt", "a.mid", "unknown file type"),
        ("a.mid", "a.mid", "same file"),
        ("missing.mid", "out.mid", "does not exist"),
        ("broken.musicxml", "out.mid", "not valid MusicXML"),
    ],
)
def test_bad_requests_raise_one_clear_error_and_leave_the_target(
    tmp_path: Path, src: str, dst: str, message: str
) -> None:
    save_midi(_song(), tmp_path / "a.mid")
    (tmp_path / "broken.musicxml").write_text("<score-partwise><part>", encoding="utf-8")
    (tmp_path / "out.mid").write_bytes(b"keep me")
    with pytest.raises(ConvertError, match=message):
        convert_file(tmp_path / src, tmp_path / dst)
    assert (tmp_path / "out.mid").read_bytes() == b"keep me"
    assert load_midi(tmp_path / "a.mid").note_count == 5


def _pedalled() -> Song:
    from studio.core.song import PITCH_BEND, SUSTAIN, Controllers

    song = _song()
    song.tracks[0].controllers = Controllers(
        [0, 240, 480, 720], [SUSTAIN, 1, PITCH_BEND, SUSTAIN], [127, 40, -2000, 0]
    )
    return song


def test_controllers_survive_midi_and_projects_and_are_reported_lost_in_musicxml(
    tmp_path: Path,
) -> None:
    song = _pedalled()
    save_midi(song, tmp_path / "a.mid")
    to_project = convert_file(tmp_path / "a.mid", tmp_path / "b.pianola")
    assert to_project.controllers == 4 and to_project.lost == ()
    convert_file(tmp_path / "b.pianola", tmp_path / "c.mid")
    back = load_midi(tmp_path / "c.mid")
    assert back.tracks[0].controllers == song.tracks[0].controllers
    assert load_project(tmp_path / "b.pianola").song.tracks[0].controllers == (
        song.tracks[0].controllers
    )
    report = convert_file(tmp_path / "c.mid", tmp_path / "d.musicxml")
    assert report.controllers == 4
    assert "2 controller events (modulation, pitch bend...)" in report.lost
    assert any("sustain-pedal" in item for item in report.lost)
    assert "4 controller events" in report.summary()
