"""Build small MIDI folders of music beyond Bach from the music21 corpus (issue 12.6).

    .venv/bin/python scripts/build_corpus_folders.py OUT [--set palestrina --set jigs ...]
                                                        [--limit 40]

Each set becomes ``OUT/<set>/`` of MIDI files written by Pianola's own MIDI writer
(`studio.core.midi_io.save_midi`), ready for ``pianola train --data OUT/<set>``:

* ``palestrina``: Renaissance polyphony in 4/2 and 3/2 (Humdrum files), every voice a
  track.
* ``jigs``: folk tunes in 6/8 (Ryan's Mammoth Collection, ABC), one melody track.

Files are picked by the metres their source text states (cheap, no parsing), taking the
set's metres in turn (a small Palestrina folder holds 4/2 and 3/2 pieces) in corpus
order, so a folder is the same every time. music21 is a development dependency; the app
only reads the MIDI files. Timing: 480 ticks per quarter; the score's time signatures;
a pickup bar is padded with rests so every later bar starts on a bar line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.core import musicxml  # noqa: E402
from studio.core.midi_io import save_midi  # noqa: E402
from studio.core.song import Song, Track  # noqa: E402

DEFAULT_BPM = 90.0
VELOCITY = 90


@dataclass(frozen=True)
class CorpusSet:
    composer: str  # music21.corpus.getComposer name
    metres: tuple[str, ...]  # keep files whose stated metres are all in here
    program: int  # General MIDI program of every track
    metre_pattern: str  # regex whose group 1 is a metre stated in the source text


SETS: dict[str, CorpusSet] = {
    "palestrina": CorpusSet("palestrina", ("4/2", "3/2"), 52, r"\*M(\d+/\d+)"),
    "jigs": CorpusSet("ryansMammoth", ("6/8",), 73, r"^M:\s*(\d+/\d+)"),
}


def sources(name: str) -> Iterator[Path]:
    """Corpus files of set ``name`` whose stated metres all belong to the set, taking
    the set's metres in turn (by each file's first stated metre)."""
    from music21 import corpus

    spec = SETS[name]
    pattern = re.compile(spec.metre_pattern, re.MULTILINE)
    by_metre: dict[str, list[Path]] = {m: [] for m in spec.metres}
    for path in sorted(Path(p) for p in corpus.getComposer(spec.composer)):
        stated = pattern.findall(path.read_text(encoding="utf-8", errors="replace"))
        if stated and set(stated) <= set(spec.metres):
            by_metre[stated[0]].append(path)
    queues = [iter(paths) for paths in by_metre.values()]
    while queues:
        for queue in list(queues):
            path = next(queue, None)
            if path is None:
                queues.remove(queue)
            else:
                yield path


def score_to_song(score, title: str, program: int) -> Song | None:  # a music21 Score
    """Every part of a music21 score with notes as a track of a Song (None: no notes).

    The song plays at 90 quarter notes per minute whatever the score's metronome marks
    say, every note at velocity 90, every track on ``program``.
    """
    song = musicxml.score_to_song(
        score,
        title,
        velocity=VELOCITY,
        default_bpm=DEFAULT_BPM,
        read_tempos=False,
        read_keys=False,  # the folders are built as before key signatures were read
    )
    if not song.tracks:  # a Score without parts
        return None
    parts = list(score.parts) or [score]  # score_to_song: one track per part, in order
    song.tracks = [
        Track(_part_name(part, k), program, False, notes=track.notes)
        for k, (part, track) in enumerate(zip(parts, song.tracks, strict=True))
        if len(track.notes)
    ]
    return song if song.tracks else None


def _part_name(part, index: int) -> str:
    return (part.partName or f"Voice {index + 1}").strip() or f"Voice {index + 1}"


def build_folder(name: str, out: Path, limit: int) -> list[Path]:
    """Write up to ``limit`` pieces of set ``name`` into ``out/name``; the paths written."""
    from music21 import converter

    spec = SETS[name]
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for source in sources(name):
        if len(written) >= limit:
            break
        try:
            score = converter.parse(str(source))
        except Exception as exc:  # a corpus file music21 itself cannot read
            print(f"  skipped {source.name}: {exc}", file=sys.stderr)
            continue
        if hasattr(score, "scores"):  # an ABC book: its first tune
            score = score.scores[0] if len(score.scores) else score
        song = score_to_song(score, source.stem, spec.program)
        if song is None:
            continue
        path = folder / f"{source.stem}.mid"
        save_midi(song, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the sets into")
    parser.add_argument("--set", action="append", choices=sorted(SETS), dest="sets")
    parser.add_argument("--limit", type=int, default=40, help="pieces per set (default 40)")
    args = parser.parse_args(argv)
    for name in args.sets or sorted(SETS):
        paths = build_folder(name, args.out, args.limit)
        print(f"{name}: {len(paths)} files in {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
