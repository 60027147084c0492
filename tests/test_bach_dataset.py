"""The bundled Bach chorales: present, well-formed, four named voices, bars aligned."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from studio.core.midi_io import load_midi
from studio.paths import bach_dataset_dir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from build_bach_dataset import is_held_out, score_to_song

FILES = sorted(bach_dataset_dir().glob("*.mid"))


def test_dataset_has_the_documented_number_of_chorales() -> None:
    assert len(FILES) == 365
    readme = (bach_dataset_dir() / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Bach chorales") and "365 four-part chorales" in readme
    root_readme = (bach_dataset_dir().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "365 four-part chorales" in root_readme


def test_every_chorale_has_four_named_voices_in_range() -> None:
    for path in FILES:
        song = load_midi(path)
        assert [t.name for t in song.tracks] == ["Soprano", "Alto", "Tenor", "Bass"], path
        assert all(len(t.notes) and t.program == 52 and not t.is_drum for t in song.tracks)
        means = [float(t.notes.pitch.mean()) for t in song.tracks]
        assert means == sorted(means, reverse=True), f"{path.name}: voices out of order"
        assert song.ticks_per_beat == 480


@pytest.mark.parametrize("name", ["bwv253.mid", "bwv269.mid"])
def test_pickup_is_padded_so_the_first_full_bar_starts_on_a_bar_line(name: str) -> None:
    song = load_midi(bach_dataset_dir() / name)
    bar = song.ticks_per_bar(0)
    first = min(int(t.notes.start[0]) for t in song.tracks)
    assert 0 < first < bar  # a pickup, padded at its start
    onsets = sorted({int(s) for t in song.tracks for s in t.notes.start})
    assert bar in onsets  # the downbeat of the first full bar falls on the bar line


def test_split_is_fixed_disjoint_and_reproducible() -> None:
    split = json.loads((bach_dataset_dir() / "split.json").read_text(encoding="utf-8"))
    names = {p.name for p in FILES}
    held, train = set(split["eval"]), set(split["train"])
    assert held | train == names and not held & train
    assert 0.05 * len(names) < len(held) < 0.15 * len(names)
    assert held == {n for n in names if is_held_out(n)}


def test_score_to_song_makes_four_named_choir_voices_at_the_dataset_defaults() -> None:
    music21 = pytest.importorskip("music21")
    stream, note, meter, tie = music21.stream, music21.note, music21.meter, music21.tie

    def part(pitch: str) -> stream.Part:
        bar1, bar2 = stream.Measure(number=1), stream.Measure(number=2)
        held = note.Note(pitch, quarterLength=2)
        held.tie = tie.Tie("start")
        end = note.Note(pitch, quarterLength=1)
        end.tie = tie.Tie("stop")
        end.volume.velocity = 40  # the dataset ignores dynamics
        bar1.append([meter.TimeSignature("3/4"), note.Rest(quarterLength=1), held])
        bar2.append([end, note.Rest(quarterLength=2)])
        out = stream.Part()
        out.append([bar1, bar2])
        return out

    score = stream.Score()
    for pitch in ("G4", "D4", "B3", "G2"):
        score.insert(0, part(pitch))
    song = score_to_song(score, "Test")
    assert [t.name for t in song.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert all(t.program == 52 and not t.is_drum for t in song.tracks)
    assert [t.notes.pitch.tolist() for t in song.tracks] == [[67], [62], [59], [43]]
    # After a beat's rest, a note tied over the bar line: one three-beat note at velocity 90.
    assert {(int(t.notes.start[0]), int(t.notes.duration[0])) for t in song.tracks} == {(480, 1440)}
    assert {int(v) for t in song.tracks for v in t.notes.velocity} == {90}
    assert [(ts.numerator, ts.denominator) for ts in song.time_signatures] == [(3, 4)]
    assert [t.bpm for t in song.tempos] == [90.0]  # no metronome mark: 90 bpm
    score.remove(score.parts[3])
    assert score_to_song(score, "Three voices") is None
