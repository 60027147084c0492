"""Dataset ingestion: windows, track layouts, filters, cache, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ml_helpers import CHORALES, HELD_OUT

from studio.core.midi_io import save_midi
from studio.core.pianoroll import RollSpec, song_to_roll
from studio.core.song import Note, Song, TimeSignature, Track
from studio.ml import data
from studio.ml.errors import DatasetError


def test_scan_bach_folder_gives_satb_windows_and_holds_out_split(chorales, cache_dir):
    calls: list[tuple[int, int]] = []
    scan = data.scan_dataset(
        chorales, progress=lambda d, t: calls.append((d, t)), mapping="bach", cache_dir=cache_dir
    )
    assert scan.files_found == len(CHORALES)
    assert scan.tracks == ["Soprano", "Alto", "Tenor", "Bass"]
    assert scan.heldout_files == 1 and scan.heldout_windows > 0
    assert scan.windows > 20 and not scan.skipped
    lo, hi = scan.pitch_range
    assert 30 <= lo < hi <= 90
    assert calls and calls[-1][0] == calls[-1][1]
    # No training window comes from the held-out chorale.
    names = data.find_midi_files(chorales)
    usable = [p.stem for p in names]
    held_index = usable.index(HELD_OUT)
    assert held_index not in set(scan.train_set.file_index.tolist())
    assert set(scan.heldout_set.file_index.tolist()) == {held_index}


def test_rendered_window_matches_core_encoding(chorales, cache_dir):
    from studio.core.midi_io import load_midi

    scan = data.scan_dataset(chorales, mapping="bach", cache_dir=cache_dir)
    first = int(np.nonzero(scan.train_set.file_index == 0)[0][0])
    roll = scan.train_set.render(np.array([first]), 0, 128)[0]
    song = load_midi(data.find_midi_files(chorales)[0])
    expected = song_to_roll(song, RollSpec(4, 0, 128), [0, 1, 2, 3], 0, 64)
    assert np.array_equal(roll > 0, expected > 0)
    assert np.array_equal(roll == 2, expected == 2)


def test_transposition_stays_inside_the_pitch_window(chorales, cache_dir):
    scan = data.scan_dataset(chorales, mapping="bach", cache_dir=cache_dir)
    w = scan.train_set
    idx = np.arange(len(w))
    lowest, n = data.model_pitch_window(*scan.pitch_range)
    shifts = w.random_shifts(idx, 6, lowest, n, np.random.default_rng(0).random(len(idx)))
    assert (np.abs(shifts) <= 6).all() and len(set(shifts.tolist())) > 3
    rolls = w.render(idx, lowest, n, shifts)
    plain = w.render(idx, lowest, n)
    assert (rolls > 0).sum() == (plain > 0).sum()  # nothing fell off the range


def test_cache_makes_rescan_skip_parsing(chorales, tmp_path, monkeypatch):
    first = data.scan_dataset(chorales, mapping="bach", cache_dir=tmp_path)

    def fail(*args, **kwargs):
        raise AssertionError("parsed again despite a warm cache")

    monkeypatch.setattr(data, "read_training_file", fail)
    again = data.scan_dataset(chorales, mapping="bach", cache_dir=tmp_path)
    assert again.windows == first.windows and again.fingerprint == first.fingerprint


def test_changed_file_changes_fingerprint(chorales, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for p in data.find_midi_files(chorales)[:3]:
        (folder / p.name).write_bytes(p.read_bytes())
    a = data.scan_dataset(folder, mapping="bach", cache_dir=tmp_path / "c")
    victim = data.find_midi_files(folder)[0]
    victim.write_bytes(data.find_midi_files(chorales)[4].read_bytes())
    b = data.scan_dataset(folder, mapping="bach", cache_dir=tmp_path / "c")
    assert a.fingerprint != b.fingerprint


def test_bad_files_are_skipped_with_reasons(chorales, tmp_path):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    good = data.find_midi_files(chorales)[0]
    (folder / "sub" / "good.mid").write_bytes(good.read_bytes())
    (folder / "text.mid").write_text("hello, not midi")
    (folder / "truncated.mid").write_bytes(good.read_bytes()[:60])
    scan = data.scan_dataset(folder, mapping="bach", cache_dir=tmp_path / "c")
    reasons = dict(scan.skipped)
    assert set(reasons) == {"text.mid", "truncated.mid"}
    assert "MThd" in reasons["text.mid"]
    assert reasons["truncated.mid"]
    assert scan.files_found == 3 and scan.windows > 0


def test_empty_or_unusable_folders_are_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="no MIDI files"):
        data.scan_dataset(tmp_path, cache_dir=tmp_path / "c")
    (tmp_path / "bad.mid").write_bytes(b"MThd garbage")
    with pytest.raises(DatasetError, match="no usable MIDI") as info:
        data.scan_dataset(tmp_path, cache_dir=tmp_path / "c")
    assert [name for name, _ in info.value.skipped] == ["bad.mid"]
    with pytest.raises(DatasetError, match="not found"):
        data.scan_dataset(tmp_path / "missing")


def test_window_longer_than_the_pieces_is_refused(chorales, cache_dir):
    with pytest.raises(DatasetError, match="shorter than the model's window"):
        data.scan_dataset(chorales, mapping="bach", bars=64, cache_dir=cache_dir)


def _band_song(ts: tuple[int, int] = (4, 4)) -> Song:
    notes = [Note(60 + (k % 5), k * 480, 480) for k in range(32)]
    bass = [Note(36 + (k % 3), k * 960, 960) for k in range(16)]
    drums = [Note(36, k * 240, 60) for k in range(64)]
    return Song(
        "band",
        480,
        time_signatures=[TimeSignature(0, *ts)],
        tracks=[
            Track("Lead", program=81, notes=notes),
            Track("Electric Bass", program=33, notes=bass),
            Track("Kit", program=0, is_drum=True, notes=drums),
            Track("Rhythm", program=27, notes=notes),
            Track("Grand", program=1, notes=notes),
        ],
    )


def test_musegan_and_piano_layouts_map_by_program_family(tmp_path):
    folder = tmp_path / "band"
    folder.mkdir()
    save_midi(_band_song(), folder / "band.mid")
    scan = data.scan_dataset(folder, mapping="musegan", cache_dir=tmp_path / "c")
    assert scan.tracks == ["Drums", "Piano", "Guitar", "Bass", "Strings"]
    roll = scan.train_set.render(np.array([0]), 0, 128)[0]
    sounding = (roll > 0).any(axis=(1, 2))
    assert sounding.all()  # every family got its instrument
    assert (roll[3] > 0).any(axis=0)[36:39].all()  # the bass notes are in the Bass track
    piano = data.scan_dataset(folder, mapping="piano", cache_dir=tmp_path / "c")
    assert piano.tracks == ["Piano"]
    proll = piano.train_set.render(np.array([0]), 0, 128)[0]
    assert not (proll[0, :, 36] > 0)[::4].all()  # drum kick (pitch 36 every 8th) left out


def test_time_signature_filter_keeps_one_metre_when_asked(tmp_path):
    folder = tmp_path / "waltz"
    folder.mkdir()
    save_midi(_band_song((3, 4)), folder / "waltz.mid")
    with pytest.raises(DatasetError, match=r"4/4 time"):
        data.scan_dataset(folder, mapping="piano", time_signature=(4, 4), cache_dir=tmp_path / "c")
    scan = data.scan_dataset(
        folder, mapping="piano", time_signature=(3, 4), cache_dir=tmp_path / "c"
    )
    assert scan.windows > 0 and scan.train_set.n_steps == 4 * 12
    assert scan.metres == {"3/4": scan.windows}


def _metre_song(changes: list[tuple[int, int, int]], quarters: int) -> Song:
    """One voice of quarter notes over ``quarters`` beats, with time-signature ``changes``
    as (tick, numerator, denominator)."""
    notes = [Note(60 + (k * 7) % 12, k * 480, 480) for k in range(quarters)]
    return Song(
        "metres",
        480,
        time_signatures=[TimeSignature(*c) for c in changes],
        tracks=[Track("Piano", program=0, notes=notes)],
    )


def test_windows_start_on_bar_lines_in_any_metre_and_carry_it(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    save_midi(_metre_song([(0, 3, 4)], 60), folder / "waltz.mid")
    save_midi(_metre_song([(0, 6, 8)], 60), folder / "jig.mid")
    save_midi(_metre_song([(0, 4, 2)], 80), folder / "motet.mid")
    # 2/4 for 8 bars, then 5/4: no window may straddle the change.
    save_midi(_metre_song([(0, 2, 4), (16 * 480, 5, 4)], 80), folder / "changes.mid")
    scan = data.scan_dataset(folder, mapping="piano", bars=2, cache_dir=tmp_path / "c")
    w = scan.train_set
    assert w.n_steps == 32  # two bars of 4/4 at 4 steps per quarter, whatever the metre
    assert set(scan.metres) == {"3/4", "6/8", "4/2", "2/4", "5/4"}
    assert sum(scan.metres.values()) == len(w) == scan.windows
    names = [p.name for p in data.find_midi_files(folder)]
    bar = {(3, 4): 12, (6, 8): 12, (4, 2): 32, (2, 4): 8, (5, 4): 20}
    for k in range(len(w)):
        metre = tuple(w.metre[k].tolist())
        name = names[w.file_index[k]]
        window_start = int(w.origin[k])
        if name == "changes.mid" and metre == (5, 4):
            assert window_start >= 64 and (window_start - 64) % 20 == 0
        else:
            assert window_start % bar[metre] == 0
        if name == "changes.mid" and metre == (2, 4):
            assert window_start + w.n_steps <= 64  # stays inside the 2/4 stretch


def test_each_window_carries_its_krumhansl_key_and_transposes_with_it(chorales, cache_dir):
    from studio.core.keys import Key, estimate_key, pitch_class_weights

    scan = data.scan_dataset(chorales, mapping="bach", cache_dir=cache_dir)
    w = scan.train_set
    assert len(w.key) == len(w) and (w.key >= 0).all()
    for k in range(0, len(w), 7):
        a, b = w.offsets[k], w.offsets[k + 1]
        heard = np.minimum(w.end[a:b], w.n_steps) - np.maximum(w.start[a:b], 0)
        assert estimate_key(pitch_class_weights(w.pitch[a:b], heard)).index == w.key[k]
    idx = np.arange(5)
    up = w.keys_of(idx, np.full(5, 2))
    for k, label in zip(idx, up, strict=True):
        old = Key.from_index(int(w.key[k]))
        assert Key.from_index(int(label)) == Key((old.tonic + 2) % 12, old.mode)


def test_bach_scan_takes_the_three_four_chorales_too(chorales, cache_dir):
    scan = data.scan_dataset(chorales, mapping="bach", cache_dir=cache_dir)
    assert "3/4" in scan.metres and "4/4" in scan.metres
    assert scan.time_signature == (4, 4)  # the most common metre names the default
    only_44 = data.scan_dataset(
        chorales, mapping="bach", time_signature=(4, 4), cache_dir=cache_dir
    )
    assert scan.windows > only_44.windows


def test_bundled_name_resolves(monkeypatch, chorales):
    monkeypatch.setattr(data, "bach_dir", lambda: Path(chorales))
    folder, mapping = data.resolve_source("bach-chorales")
    assert folder == Path(chorales) and mapping == "bach"


# ----------------------------------------------------------------------------- one reader
def _editor_notes_in_steps(song: Song, steps_per_beat: int) -> list[tuple[int, int, int]]:
    """What the editor shows, rounded to the training grid (every pitched track)."""
    out = []
    tpq = song.ticks_per_beat
    for track in song.tracks:
        if track.is_drum:
            continue
        for note in track.notes:
            start = round(note.start * steps_per_beat / tpq)
            end = max(round(note.end * steps_per_beat / tpq), start + 1)
            out.append((note.pitch, start, end))
    return sorted(out)


def _training_notes(parsed: data.ParsedFile) -> list[tuple[int, int, int]]:
    return sorted(
        zip(parsed.pitch.tolist(), parsed.start.tolist(), parsed.end.tolist(), strict=True)
    )


def _hostile_files() -> dict[str, bytes]:
    from midi_bytes import off, on, smf, track

    return {
        # a note never switched off lasts until the file ends, in both
        "never-ended": smf(0, 480, track(on(0, 60), on(0, 64), off(480, 64), on(480, 67))),
        # overlapping notes of one pitch pair first-on, first-off
        "overlap": smf(0, 480, track(on(0, 60), on(240, 60), off(240, 60), off(480, 60))),
        # a zero-length note keeps one step
        "zero-length": smf(0, 480, track(on(0, 62), off(0, 62), on(120, 64), off(480, 64))),
        # note-on with velocity 0 is a note-off, also under running status
        "velocity-0": smf(
            0, 96, track(on(0, 60), bytes((0, 64, 90)), bytes((96, 60, 0)), bytes((48, 64, 0)))
        ),
        # note-off for a note that is not on is ignored; then the note repeats
        "stray-off": smf(0, 480, track(off(0, 70), on(0, 70), off(480, 70), off(0, 70))),
    }


def test_training_reads_the_bundled_chorales_as_the_editor_does():
    from studio.core.midi_io import load_midi
    from studio.paths import bach_dataset_dir

    for path in sorted(bach_dataset_dir().glob("*.mid")):
        parsed = data.read_training_file(path.read_bytes(), "piano", 4, 1, path)
        assert _training_notes(parsed) == _editor_notes_in_steps(load_midi(path), 4), path


@pytest.mark.parametrize("case", sorted(_hostile_files()))
def test_training_reads_hostile_files_as_the_editor_does(case, tmp_path):
    from studio.core.midi_io import load_midi

    path = tmp_path / f"{case}.mid"
    path.write_bytes(_hostile_files()[case])
    song = load_midi(path)
    parsed = data.read_training_file(path.read_bytes(), "piano", 4, 1, path)
    assert _training_notes(parsed) == _editor_notes_in_steps(song, 4)
    if case == "never-ended":
        assert (60, 0, 8) in _training_notes(parsed)  # sounds to the file's end (960 ticks)
    if case == "overlap":
        assert _training_notes(parsed) == [(60, 0, 4), (60, 2, 8)]


def test_training_ingestion_has_the_editors_limits(tmp_path, monkeypatch):
    from midi_bytes import off, on, smf, track

    from studio.core import limits

    # Thousands of repeated tracks: refused before they are all read.
    chunk = track(on(0, 60), off(4 * 96, 60))
    folder = tmp_path / "wide"
    folder.mkdir()
    (folder / "wide.mid").write_bytes(smf(1, 96, *[chunk] * 2045))
    (folder / "ok.mid").write_bytes(smf(1, 96, *[chunk] * 3))
    monkeypatch.setattr(limits, "MAX_TRACKS", 64)
    scan = data.scan_dataset(folder, mapping="piano", bars=1, min_notes=1, cache_dir=tmp_path / "c")
    assert dict(scan.skipped) == {"wide.mid": "it would make more than 64 tracks"}
    # Oversized files are refused before they are read.
    monkeypatch.setattr(limits, "MAX_MIDI_BYTES", 1000)
    scan = data.scan_dataset(
        folder, mapping="piano", bars=1, min_notes=1, cache_dir=tmp_path / "c2"
    )
    assert "too large" in dict(scan.skipped)["wide.mid"]


def test_mutants_give_an_error_or_sane_positions():
    from studio.paths import bach_dataset_dir

    rng = np.random.default_rng(5)
    seeds = [p.read_bytes() for p in sorted(bach_dataset_dir().glob("*.mid"))[:5]]
    read = 0
    for k in range(300):
        blob = bytearray(seeds[k % len(seeds)])
        for _ in range(int(rng.integers(1, 4))):
            blob[int(rng.integers(14, len(blob)))] = int(rng.integers(0, 256))
        try:
            parsed = data.read_training_file(bytes(blob), "piano", 4, 1, "mutant.mid")
        except (ValueError, data.SongFileError):
            continue
        read += 1
        assert (parsed.start >= 0).all() and (parsed.end > parsed.start).all()
        assert (parsed.ts[:, 0] >= 0).all()
    assert read > 50
