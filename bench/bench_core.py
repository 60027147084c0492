"""Core benchmarks: MIDI I/O on the bundled Bach set, a 100,000-note song through the
model, the piano-roll encoding and project files."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np

from bench.common import Row, best_of
from studio.core.midi_io import load_midi, midi_bytes, parse_midi, save_midi
from studio.core.pianoroll import RollSpec, roll_to_song, song_to_roll
from studio.core.project import Project, load_project, save_project
from studio.core.song import Notes, Song, Track
from studio.paths import bach_dataset_dir

N_NOTES = 100_000
N_TRACKS = 4
TPB = 480


def big_song_columns(seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """Four tracks of 25,000 notes on a 16th grid: about 26 minutes of dense music."""
    rng = np.random.default_rng(seed)
    per_track = N_NOTES // N_TRACKS
    step = TPB // 4
    columns = []
    for _ in range(N_TRACKS):
        columns.append(
            (
                rng.integers(36, 96, per_track),
                rng.integers(0, 25_000, per_track) * step,
                rng.integers(1, 8, per_track) * step,
                rng.integers(40, 128, per_track),
            )
        )
    return columns


def build_song(columns: list[tuple[np.ndarray, ...]]) -> Song:
    tracks = [Track(f"T{k}", notes=Notes(*cols)) for k, cols in enumerate(columns)]
    return Song("bench", TPB, tracks=tracks)


def run() -> list[Row]:
    rows: list[Row] = []
    files = sorted(bach_dataset_dir().glob("*.mid"))
    n = len(files)

    load_s = best_of(lambda: [load_midi(f) for f in files], repeat=3)
    rows.append(Row("core", f"MIDI load, Bach set ({n} files)", n / load_s, "files/s", ">= 200"))
    songs = [load_midi(f) for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        save_s = best_of(
            lambda: [save_midi(s, out / f.name) for s, f in zip(songs, files, strict=True)],
            repeat=3,
        )
    rows.append(
        Row("core", "MIDI save, Bach set", n / save_s, "files/s", ">= 40", "atomic: fsync + rename")
    )
    encode_s = best_of(lambda: [midi_bytes(s) for s in songs], repeat=3)
    rows.append(Row("core", "MIDI encode to bytes, Bach set", n / encode_s, "files/s", ">= 200"))
    rows.append(training_ingestion_row(files))
    try:
        import pretty_midi

        subset = files[:60]
        pm_s = best_of(lambda: [pretty_midi.PrettyMIDI(str(f)) for f in subset], repeat=1)
        rows.append(
            Row(
                "core",
                "pretty_midi load, same files",
                len(subset) / pm_s,
                "files/s",
                "",
                "reference",
            )
        )
    except ImportError:
        pass

    columns = big_song_columns()
    build_s = best_of(lambda: build_song(columns), repeat=3)
    rows.append(Row("core", "build 100k-note song", build_s * 1e3, "ms", "< 200"))
    song = build_song(columns)

    notes = song.tracks[0].notes
    rng = np.random.default_rng(1)
    windows = rng.integers(0, int(notes.end), 1000)
    query_s = best_of(lambda: [notes.indices_in_range(t, t + 4 * TPB) for t in windows], repeat=3)
    rows.append(
        Row("core", "range query (1 bar, 25k-note track)", query_s / 1000 * 1e6, "us", "< 100")
    )

    spec = RollSpec()
    encode_s = best_of(lambda: song_to_roll(song, spec), repeat=3)
    rows.append(Row("core", "encode 100k notes to roll", encode_s * 1e3, "ms", "< 500"))
    roll = song_to_roll(song, spec)
    decode_s = best_of(lambda: roll_to_song(roll, spec, TPB, song.tracks), repeat=3)
    rows.append(
        Row(
            "core",
            "decode roll to 100k-note song",
            decode_s * 1e3,
            "ms",
            "< 500",
            f"roll {roll.shape}",
        )
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.pianola"
        project = Project(song, [{} for _ in song.tracks], {"seed": 1})
        save_s = best_of(lambda: save_project(project, path), repeat=3)
        size = path.stat().st_size
        open_s = best_of(lambda: load_project(path), repeat=3)
        midi_path = Path(tmp) / "big.mid"
        midi_save_s = best_of(lambda: save_midi(song, midi_path), repeat=3)
        midi_load_s = best_of(lambda: load_midi(midi_path), repeat=3)
    rows.append(
        Row(
            "core",
            "project save, 100k notes",
            save_s * 1e3,
            "ms",
            "< 1000",
            f"{size / 2**20:.1f} MiB",
        )
    )
    rows.append(Row("core", "project load, 100k notes", open_s * 1e3, "ms", "< 1000"))
    rows.append(Row("core", "MIDI save, 100k notes", midi_save_s * 1e3, "ms", "< 1000"))
    rows.append(Row("core", "MIDI load, 100k notes", midi_load_s * 1e3, "ms", "< 1000"))
    rows.extend(million_note_rows())
    return rows


def training_ingestion_row(files: list[Path]) -> Row:
    """Training reads MIDI through the editor's reader (same note rules and limits)."""
    from studio.ml.data import BACH_TRACKS, read_training_file

    blobs = [f.read_bytes() for f in files]

    def ingest() -> None:
        for blob in blobs:
            read_training_file(blob, "bach", 4, len(BACH_TRACKS))

    seconds = best_of(ingest, repeat=3)
    return Row(
        "core",
        f"training ingestion, Bach set ({len(blobs)} files)",
        len(blobs) / seconds,
        "files/s",
        ">= 500",
        "studio.core.midi_io rules",
    )


def million_note_file(seed: int = 2) -> bytes:
    """A legitimate 1,000,000-note file: 8 dense tracks of overlapping chords (~7.8 MiB)."""
    rng = np.random.default_rng(seed)
    per_track = 1_000_000 // 8
    tracks = []
    for k in range(8):
        start = np.cumsum(rng.integers(0, 3, per_track)) * (TPB // 4)
        notes = Notes(
            rng.integers(36, 96, per_track),
            start,
            rng.integers(1, 8, per_track) * (TPB // 8),
            rng.integers(40, 128, per_track),
        )
        tracks.append(Track(f"T{k}", notes=notes))
    return midi_bytes(Song("million", TPB, tracks=tracks))


def stacked_note_file(n: int = 1_000_000) -> bytes:
    """n note-ons of one pitch, then their n note-offs: the case that was quadratic."""
    ons = bytes((0x00, 0x90, 60, 100)) + bytes((0, 60, 100)) * (n - 1)
    offs = bytes((0x01, 0x80, 60, 64)) + bytes((0, 60, 64)) * (n - 1)
    body = ons + offs + b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TPB)
    return header + b"MTrk" + struct.pack(">I", len(body)) + body


def million_note_rows() -> list[Row]:
    rows = []
    for label, data in (
        ("MIDI load, 1M notes (8 tracks)", million_note_file()),
        ("MIDI load, 1M stacked notes of one pitch", stacked_note_file()),
    ):
        seconds = best_of(lambda data=data: parse_midi(data, "bench.mid"), repeat=2)
        rows.append(Row("core", label, seconds, "s", "<= 2", f"{len(data) / 2**20:.1f} MiB"))
    return rows
