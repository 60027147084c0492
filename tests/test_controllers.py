"""Controllers (sustain pedal, other control changes, pitch bend): the model, and their
survival through MIDI import -> save and project save -> load."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
from midi_bytes import bend, cc, name, off, on, program, smf, track

from studio.core.midi_io import load_midi, midi_bytes, parse_midi, parse_midi_with_report, save_midi
from studio.core.project import Project, load_project, save_project
from studio.core.song import (
    EXPRESSION,
    MODULATION,
    PITCH_BEND,
    SUSTAIN,
    Controllers,
    Notes,
    Song,
    Track,
)


def pedalled_song() -> Song:
    piano = Track(
        "Piano",
        0,
        notes=Notes([60, 64, 67], [0, 240, 480], [200, 200, 200], [90, 80, 70]),
        controllers=Controllers(
            [0, 0, 100, 480, 480, 700, 960],
            [SUSTAIN, MODULATION, PITCH_BEND, SUSTAIN, SUSTAIN, PITCH_BEND, EXPRESSION],
            [127, 20, -8192, 0, 127, 8191, 64],
        ),
    )
    bass = Track("Bass", 33, notes=Notes([36], [0], [960]))
    return Song("Pedal", 480, tracks=[piano, bass])


# --------------------------------------------------------------------- model
def test_controllers_are_sorted_stably_and_validated() -> None:
    block = Controllers([10, 0, 10], [SUSTAIN, SUSTAIN, SUSTAIN], [0, 127, 127])
    assert block.tick.tolist() == [0, 10, 10]
    assert block.value.tolist() == [127, 0, 127]  # same-tick order kept: the last wins
    assert block.value_at(SUSTAIN, 10) == 127 and block.value_at(SUSTAIN, 5) == 127
    assert block.value_at(MODULATION, 5) is None and block.value_at(MODULATION, 5, 0) == 0
    with pytest.raises(ValueError, match="controller value"):
        Controllers([0], [SUSTAIN], [128])
    with pytest.raises(ValueError, match="pitch bend"):
        Controllers([0], [PITCH_BEND], [8192])
    with pytest.raises(ValueError, match="controller number"):
        Controllers([0], [129], [0])
    with pytest.raises(ValueError, match="tick"):
        Controllers([-1], [1], [0])
    assert not block.tick.flags.writeable


def test_controller_queries_and_edits() -> None:
    block = pedalled_song().tracks[0].controllers
    assert block.numbers() == [MODULATION, EXPRESSION, SUSTAIN, PITCH_BEND]
    assert len(block.of(SUSTAIN)) == 3
    assert block.without(SUSTAIN, 0, 480).of(SUSTAIN).tick.tolist() == [480, 480]
    assert len(block.without(PITCH_BEND)) == len(block) - 2
    assert block.shifted(10).tick.tolist()[0] == 10
    merged = Controllers().with_events(block)
    assert merged == block
    assert block.end == 960


def test_sustain_spans_follow_pedal_changes() -> None:
    block = Controllers([0, 100, 200, 300, 350, 400], [SUSTAIN] * 6, [127, 100, 0, 64, 10, 127])
    assert block.sustain_spans(1000).tolist() == [[0, 200], [300, 350], [400, 1000]]
    assert Controllers().sustain_spans(10).shape == (0, 2)


def test_track_equality_and_copy_include_controllers() -> None:
    track = pedalled_song().tracks[0]
    copy = track.copy()
    assert copy == track and copy.controllers is track.controllers
    copy.controllers = copy.controllers.without(SUSTAIN)
    assert copy != track
    with pytest.raises(ValueError, match="Controllers block"):
        copy.controllers = [1, 2, 3]  # type: ignore[assignment]
    assert len(Track().controllers) == 0


# --------------------------------------------------------------------- MIDI
def test_controllers_survive_midi_save_and_load(tmp_path: Path) -> None:
    song = pedalled_song()
    path = tmp_path / "pedal.mid"
    save_midi(song, path)
    back = load_midi(path)
    assert back.tracks[0].controllers == song.tracks[0].controllers
    assert back.tracks[0].notes.same_notes(song.tracks[0].notes)
    assert len(back.tracks[1].controllers) == 0


def test_other_readers_see_the_same_controllers(tmp_path: Path) -> None:
    path = tmp_path / "pedal.mid"
    save_midi(pedalled_song(), path)
    events = []
    for message in mido.MidiFile(path).tracks[1]:
        if message.type == "control_change":
            events.append(("cc", message.control, message.value))
        elif message.type == "pitchwheel":
            events.append(("bend", message.pitch))
    assert events == [
        ("cc", SUSTAIN, 127),
        ("cc", MODULATION, 20),
        ("bend", -8192),
        ("cc", SUSTAIN, 0),
        ("cc", SUSTAIN, 127),
        ("bend", 8191),
        ("cc", EXPRESSION, 64),
    ]


def test_imported_controllers_go_to_the_track_of_their_channel() -> None:
    data = smf(
        1,
        480,
        # a set-up track with no notes: its controllers belong to channel 1's track
        track(name(0, "Setup"), cc(0, 7, 100, channel=1), cc(0, 10, 30, channel=1)),
        track(
            name(0, "Both"),
            program(0, 0, channel=0),
            program(0, 40, channel=1),
            cc(0, SUSTAIN, 127, channel=0),
            on(0, 60, channel=0),
            on(0, 72, channel=1),
            bend(5, 4000, channel=1),
            off(100, 60, channel=0),
            off(0, 72, channel=1),
            cc(0, SUSTAIN, 0, channel=0),
        ),
        # controllers for a channel that never plays a note are left out, and said so
        track(cc(0, 1, 5, channel=5)),
    )
    song, report = parse_midi_with_report(data, "channels.mid")
    by_program = {t.program: t for t in song.tracks}
    assert by_program[0].controllers.of(SUSTAIN).value.tolist() == [127, 0]
    violin = by_program[40].controllers
    assert violin.numbers() == [7, 10, PITCH_BEND]
    assert violin.value_at(PITCH_BEND, 10) == 4000
    assert any("1 controller event on channels that have no notes" in item for item in report)


def test_channel_mode_messages_are_kept_as_controllers() -> None:
    data = smf(0, 480, track(on(0, 60), off(10, 60), cc(0, 121, 0), cc(0, 123, 0)))
    song = parse_midi(data, "mode.mid")
    assert song.tracks[0].controllers.number.tolist() == [121, 123]
    again = parse_midi(midi_bytes(song), "again.mid")
    assert again.tracks[0].controllers == song.tracks[0].controllers


# --------------------------------------------------------------------- projects
def test_controllers_survive_project_save_and_load(tmp_path: Path) -> None:
    song = pedalled_song()
    path = tmp_path / "pedal.pianola"
    save_project(Project(song), path)
    back = load_project(path).song
    assert back == Song(song.title, 480, song.tempos, song.time_signatures, back.tracks)
    assert [t.controllers for t in back.tracks] == [t.controllers for t in song.tracks]
    # A track without controllers is written as before (readable by older versions).
    text = path.read_text(encoding="utf-8")
    assert text.count('"controllers"') == 1


def test_a_big_controller_lane_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    block = Controllers(
        np.sort(rng.integers(0, 10**6, n)),
        rng.choice([SUSTAIN, MODULATION, PITCH_BEND], n),
        np.zeros(n, dtype=np.int64),
    )
    song = Song("lane", tracks=[Track("T", controllers=block, notes=Notes([60], [0], [10]))])
    assert parse_midi(midi_bytes(song)).tracks[0].controllers == block
    save_project(Project(song), tmp_path / "lane.pianola")
    assert load_project(tmp_path / "lane.pianola").song.tracks[0].controllers == block
