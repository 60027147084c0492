"""Project files: exact round trip, atomic writes, clear errors that leave files alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from studio.core.project import (
    FORMAT_VERSION,
    Project,
    ProjectError,
    load_project,
    project_to_dict,
    save_project,
)
from studio.core.song import Notes, Song, TempoChange, TimeSignature, Track


def example_project() -> Project:
    rng = np.random.default_rng(5)
    n = 500
    song = Song(
        "Prélude — draft 2",
        960,
        [TempoChange(0, 72.5), TempoChange(3840, 80.0)],
        [TimeSignature(0, 3, 4), TimeSignature(2880, 5, 8)],
        [
            Track(
                "Soprano",
                52,
                colour="#aabbcc",
                mute=True,
                notes=Notes(
                    rng.integers(50, 80, n),
                    rng.integers(0, 10**6, n),
                    rng.integers(1, 900, n),
                    rng.integers(1, 128, n),
                ),
            ),
            Track("Drums", 0, True, "#ff0000", solo=True, notes=Notes([36], [0], [10])),
            Track("Empty"),
        ],
    )
    return Project(
        song,
        [{"visible": True, "height": 3}, {"visible": False}, {}],
        {"model": "default", "seed": np.int64(42), "temperature": np.float32(0.75), "bars": 8},
    )


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    project = example_project()
    path = tmp_path / "p.pianola"
    save_project(project, path)
    loaded = load_project(path)
    a, b = project.song, loaded.song
    assert (b.title, b.ticks_per_beat, b.tempos, b.time_signatures) == (
        a.title,
        a.ticks_per_beat,
        a.tempos,
        a.time_signatures,
    )
    for ta, tb in zip(a.tracks, b.tracks, strict=True):
        assert (ta.name, ta.program, ta.is_drum, ta.colour, ta.mute, ta.solo) == (
            tb.name,
            tb.program,
            tb.is_drum,
            tb.colour,
            tb.mute,
            tb.solo,
        )
        assert tb.notes.same_notes(ta.notes)
    assert loaded.track_view_state == project.track_view_state
    assert loaded.generation_settings == {
        "model": "default",
        "seed": 42,
        "temperature": 0.75,
        "bars": 8,
    }
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "pianola-project" and document["version"] == FORMAT_VERSION


def test_unserialisable_settings_raise_and_leave_old_file(tmp_path: Path) -> None:
    path = tmp_path / "p.pianola"
    save_project(example_project(), path)
    before = path.read_bytes()
    bad = example_project()
    bad.generation_settings["callback"] = object()
    with pytest.raises(ProjectError, match="cannot be saved"):
        save_project(bad, path)
    bad = example_project()
    bad.track_view_state = ["not a dict"]  # type: ignore[list-item]
    with pytest.raises(ProjectError, match="track_view_state"):
        save_project(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.pianola"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.pianola"
    save_project(example_project(), path)
    before = path.read_bytes()

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        save_project(Project(Song("other")), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.pianola"]


def good_document() -> dict:
    return project_to_dict(Project(Song("x", tracks=[Track("t", notes=Notes([60], [0], [1]))])))


def corrupt(change) -> bytes:
    document = good_document()
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2, 3]", "not a Pianola project"),
        (b'{"format": "something-else", "version": 1}', "not a Pianola project"),
        (corrupt(lambda d: d.update(version=FORMAT_VERSION + 1)), "newer Pianola"),
        (corrupt(lambda d: d.update(version="1")), "format version"),
        (corrupt(lambda d: d.pop("song")), "missing 'song'"),
        (corrupt(lambda d: d["song"]["tracks"][0]["notes"].update(pitch=[200])), "pitch"),
        (corrupt(lambda d: d["song"]["tracks"][0]["notes"].update(pitch=["a"])), "integers"),
        (corrupt(lambda d: d["song"]["tracks"][0]["notes"].update(pitch=[60, 61])), "lengths"),
        (corrupt(lambda d: d["song"]["tracks"][0].update(colour="blue")), "colour"),
        (corrupt(lambda d: d["song"].update(ticks_per_beat=-3)), "ticks_per_beat"),
        (corrupt(lambda d: d["song"].update(tempos=[[0, "fast"]])), "tempo"),
        (corrupt(lambda d: d["song"].update(tempos=[[0]])), "corrupt"),
        (corrupt(lambda d: d["song"]["tracks"][0]["notes"].update(start_delta=[2**70])), "corrupt"),
        (corrupt(lambda d: d.update(track_view_state={"a": 1})), "track_view_state"),
        (b"[" * 100_000 + b"]" * 100_000, "corrupt"),
    ],
)
def test_bad_files_raise_project_error_and_are_left_untouched(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.pianola"
    path.write_bytes(content)
    mtime = path.stat().st_mtime_ns
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)
    assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "nothing.pianola")
    with pytest.raises(ProjectError, match="folder"):
        load_project(tmp_path)


def test_100k_notes_are_stored_compactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    notes = Notes(
        rng.integers(0, 128, n),
        rng.integers(0, 10**7, n),
        rng.integers(1, 960, n),
        rng.integers(1, 128, n),
    )
    path = tmp_path / "big.pianola"
    save_project(Project(Song(tracks=[Track(notes=notes)])), path)
    # Delta-encoded columns: well under 20 bytes per note.
    assert path.stat().st_size < 20 * n
    assert load_project(path).song.tracks[0].notes.same_notes(notes)


# --------------------------------------------------------------------- limits on load
def _document_with(mutate) -> dict:
    song = Song("Limits", 480, tracks=[Track("A", notes=Notes([60, 62], [0, 480], [480, 480]))])
    document = project_to_dict(Project(song, [{}], {}))
    mutate(document["song"])
    return document


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s: s["tracks"][0]["notes"].update(start_delta=[0, 4_000_000_000]), "start_delta"),
        (lambda s: s["tracks"][0]["notes"].update(start_delta=[0, 2**62]), "start_delta"),
        (lambda s: s["tracks"][0]["notes"].update(duration=[480, 2**63 - 1]), "duration"),
        (lambda s: s["tracks"][0]["notes"].update(start_delta=[0, 2**64 - 1]), "too large"),
        (lambda s: s["tracks"][0]["notes"].update(start_delta=[0, 10**20]), "too large"),
        (lambda s: s["tempos"].append([10**20, 90.0]), "a tempo change at tick"),
        (lambda s: s["time_signatures"].append([96_000_001, 3, 4]), "a time signature at tick"),
        (
            lambda s: s["tracks"][0]["notes"].update(
                start_delta=[0, 95_999_000], duration=[480, 2000]
            ),
            "a note ends past",
        ),
        (
            lambda s: s["tracks"][0].update(
                controllers={"tick_delta": [96_000_001], "number": [64], "value": [127]}
            ),
            "controller tick_delta",
        ),
    ],
)
def test_values_beyond_the_song_limits_are_refused_naming_the_limit(
    tmp_path: Path, mutate, reason: str
) -> None:
    path = tmp_path / "far.pianola"
    path.write_text(json.dumps(_document_with(mutate)), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    message = str(caught.value)
    assert str(path) in message and reason in message
    if "too large" not in message:
        assert "past tick 96,000,000 (200,000 beats at 480 ticks per beat)" in message
    assert path.read_bytes() == before


def test_note_and_track_counts_are_limited(tmp_path: Path, monkeypatch) -> None:
    from studio.core import limits

    path = tmp_path / "many.pianola"
    notes = Notes([60] * 5, range(5), [1] * 5)
    save_project(Project(Song("many", tracks=[Track("A", notes=notes)] * 3)), path)
    monkeypatch.setattr(limits, "MAX_NOTES", 12)
    with pytest.raises(ProjectError, match="more than 12 notes"):
        load_project(path)
    monkeypatch.setattr(limits, "MAX_NOTES", 100)
    monkeypatch.setattr(limits, "MAX_TRACKS", 2)
    with pytest.raises(ProjectError, match="at most 2"):
        load_project(path)


def test_lone_surrogates_are_repaired_on_load_so_the_project_saves(tmp_path: Path) -> None:
    from studio.core.project import load_project_with_report

    document = _document_with(lambda s: s.update(title="Bad \ud800 title"))
    document["song"]["tracks"][0]["name"] = "\udc00voice"
    document["generation_settings"] = {"note\ud800": ["x\udfff"]}
    path = tmp_path / "surrogate.pianola"
    # json.dumps spells lone surrogates as \\ud800 escapes, as a damaged file would.
    path.write_text(json.dumps(document), encoding="utf-8")
    project, report = load_project_with_report(path)
    assert project.song.title == "Bad \ufffd title"
    assert project.song.tracks[0].name == "\ufffdvoice"
    assert project.generation_settings == {"note\ufffd": ["x\ufffd"]}
    assert len(report) == 1 and "4 invalid characters" in report.items[0]
    save_project(project, tmp_path / "saved.pianola")
    assert load_project(tmp_path / "saved.pianola").song.title == "Bad \ufffd title"
    _, clean_report = load_project_with_report(tmp_path / "saved.pianola")
    assert not clean_report


def test_settings_nested_too_deeply_to_save_are_refused_on_load(tmp_path: Path) -> None:
    document = _document_with(lambda s: None)
    deep: list = []
    for _ in range(150):
        deep = [deep]
    document["generation_settings"] = {"deep": deep}
    path = tmp_path / "deep.pianola"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ProjectError, match="nested more than 100 levels"):
        load_project(path)


def test_key_signatures_are_saved_only_when_set(tmp_path: Path) -> None:
    from studio.core.song import KeySignature

    song = Song("Keys", key_signatures=[KeySignature(0, -2, False), KeySignature(960, 1, True)])
    path = tmp_path / "keys.pianola"
    save_project(Project(song), path)
    assert load_project(path).song.key_signatures == song.key_signatures
    save_project(Project(Song("None")), path)
    assert "key_signatures" not in path.read_text(encoding="utf-8")
    assert load_project(path).song.key_signatures == []
