"""File exchange benchmarks: MusicXML export and import through music21 (a chorale and a
3,000-note song), and `convert_file` from MIDI to compressed MusicXML."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import Row, best_of
from studio.core.convert import convert_file
from studio.core.midi_io import load_midi
from studio.core.musicxml import load_musicxml, save_musicxml
from studio.core.song import Notes, Song, Track
from studio.paths import bach_dataset_dir


def four_parts(notes_per_part: int = 750) -> Song:
    rng = np.random.default_rng(0)
    tracks = [
        Track(f"Part {k + 1}", notes=Notes(rng.integers(40, 90, notes_per_part),
              np.arange(notes_per_part) * 240, np.full(notes_per_part, 240)))
        for k in range(4)
    ]  # fmt: skip
    return Song("four parts", tracks=tracks)


def run() -> list[Row]:
    rows: list[Row] = []
    t0 = time.perf_counter()
    import music21  # noqa: F401  (the first MusicXML command pays this once)

    rows.append(Row("exchange", "import music21 (first MusicXML use)",
                    time.perf_counter() - t0, "s"))  # fmt: skip
    chorale_path = bach_dataset_dir() / "bwv10.7.mid"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        if chorale_path.is_file():
            chorale = load_midi(chorale_path)
            seconds = best_of(lambda: save_musicxml(chorale, out / "c.mxl"), repeat=3)
            rows.append(Row("exchange", "MusicXML export, chorale (206 notes)", seconds, "s",
                            "< 1 s"))  # fmt: skip
            seconds = best_of(lambda: load_musicxml(out / "c.mxl"), repeat=3)
            rows.append(Row("exchange", "MusicXML import, chorale", seconds, "s", "< 1 s"))
            seconds = best_of(lambda: convert_file(chorale_path, out / "d.mxl"), repeat=3)
            rows.append(Row("exchange", "convert .mid -> .mxl, chorale", seconds, "s", "< 1 s"))
        song = four_parts()
        seconds = best_of(lambda: save_musicxml(song, out / "big.musicxml"), repeat=1)
        rows.append(Row("exchange", "MusicXML export, 3,000 notes in 4 parts", seconds, "s",
                        note="runs in a worker behind a progress dialog"))  # fmt: skip
        seconds = best_of(lambda: load_musicxml(out / "big.musicxml"), repeat=1)
        rows.append(Row("exchange", "MusicXML import, 3,000 notes in 4 parts", seconds, "s",
                        note="runs in a worker behind a progress dialog"))  # fmt: skip
    return rows
