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
