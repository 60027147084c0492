"""Build the bundled Bach chorale dataset from the music21 corpus.

    .venv/bin/python scripts/build_bach_dataset.py [--out resources/datasets/bach_chorales]

Writes one MIDI file per chorale (``bwv253.mid`` ...) with exactly four tracks named
Soprano, Alto, Tenor and Bass (program 52, Choir Aahs), plus ``split.json`` (the fixed
held-out evaluation set), ``phrases.json`` (each chorale's fermatas, the phrase ends MIDI
cannot carry; ``--phrases-only`` rewrites just that file) and ``README.md`` (count, size,
provenance). Pieces without
exactly four parts are skipped and counted. music21 is a development dependency: the
app itself only reads the MIDI files.

Timing: 480 ticks per beat; the score's time signatures; its metronome mark where it
has one, else 90 quarter notes per minute. A pickup (anacrusis) bar is padded with
rests at its start so that every later bar begins on a bar line of the MIDI file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.core import musicxml  # noqa: E402
from studio.core.midi_io import save_midi  # noqa: E402
from studio.core.song import Song, Track  # noqa: E402
from studio.ml.phrases import write_sidecar  # noqa: E402

TICKS_PER_BEAT = musicxml.IMPORT_TICKS_PER_BEAT  # 480
DEFAULT_BPM = 90.0
VELOCITY = 90
PROGRAM = 52  # General MIDI "Choir Aahs": the chorales are vocal music
VOICES = ("Soprano", "Alto", "Tenor", "Bass")
VOICE_COLOURS = ("#4fc3f7", "#ffb74d", "#81c784", "#e57373")
MUSIC_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")

# The held-out split: a file is held out when this salted hash of its name falls in the
# lowest tenth. Changing the salt changes the split, so it is part of the format.
SPLIT_SALT = "pianola-bach-split-v1"
SPLIT_PERCENT = 10


def is_held_out(file_name: str) -> bool:
    digest = hashlib.sha256(f"{SPLIT_SALT}:{file_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < SPLIT_PERCENT


def chorale_sources() -> list[Path]:
    """The corpus's Bach files, one per piece (MusicXML preferred over Humdrum)."""
    from music21 import corpus

    by_stem: dict[str, Path] = {}
    for path in sorted(corpus.getComposer("bach"), key=lambda p: (p.stem, p.suffix)):
        path = Path(path)
        if path.suffix not in MUSIC_SUFFIXES:
            continue
        known = by_stem.get(path.stem)
        if known is None or MUSIC_SUFFIXES.index(path.suffix) < MUSIC_SUFFIXES.index(known.suffix):
            by_stem[path.stem] = path
    return [by_stem[stem] for stem in sorted(by_stem)]


def score_to_song(score, title: str) -> Song | None:  # score: a music21 Score
    """Convert a four-part music21 score to a Song, or None if it has not four parts."""
    if len(score.parts) != 4:
        return None
    # No key signatures: the committed set was built without them (training estimates
    # each window's key from its notes), so a rebuild stays byte-identical.
    song = musicxml.score_to_song(
        score, title, velocity=VELOCITY, default_bpm=DEFAULT_BPM, read_keys=False
    )
    song.tracks = [
        Track(voice, PROGRAM, False, colour, notes=track.notes)
        for voice, colour, track in zip(VOICES, VOICE_COLOURS, song.tracks, strict=True)
    ]
    return song


def build(out_dir: Path) -> dict:
    from music21 import corpus

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.mid"):
        old.unlink()
    written: list[str] = []
    skipped: list[tuple[str, str]] = []
    fermatas: dict[str, list[int]] = {}
    sources = chorale_sources()
    t0 = time.perf_counter()
    for k, source in enumerate(sources):
        name = f"{source.stem}.mid"
        try:
            score = corpus.parse(str(source))
            song = score_to_song(score, f"Bach, chorale {source.stem.upper()}")
        except Exception as exc:  # a corpus file music21 itself cannot read
            skipped.append((source.name, f"unreadable: {exc}"))
            continue
        if song is None:
            skipped.append((source.name, f"{len(score.parts)} parts, not 4"))
            continue
        if not all(len(t.notes) for t in song.tracks):
            skipped.append((source.name, "a voice without notes"))
            continue
        save_midi(song, out_dir / name)
        written.append(name)
        fermatas[name] = musicxml.fermata_ticks(score)
        if (k + 1) % 50 == 0:
            print(f"  {k + 1}/{len(sources)} ({time.perf_counter() - t0:.0f} s)", flush=True)

    held_out = sorted(n for n in written if is_held_out(n))
    split = {
        "description": (
            "Fixed held-out chorales for evaluation. A file is held out when "
            "int.from_bytes(sha256(f'{salt}:{file_name}')[:8], 'big') % 100 < percent."
        ),
        "salt": SPLIT_SALT,
        "percent": SPLIT_PERCENT,
        "eval": held_out,
        "train": sorted(n for n in written if n not in set(held_out)),
    }
    (out_dir / "split.json").write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
    write_sidecar(out_dir, fermatas, TICKS_PER_BEAT)
    total = sum((out_dir / n).stat().st_size for n in written)
    summary = {"written": len(written), "skipped": skipped, "bytes": total, "eval": len(held_out)}
    _write_readme(out_dir, summary)
    return summary


def build_phrases(out_dir: Path) -> int:
    """Rewrite only ``phrases.json`` for the chorales already in ``out_dir``."""
    from music21 import corpus

    fermatas: dict[str, list[int]] = {}
    for source in chorale_sources():
        name = f"{source.stem}.mid"
        if (out_dir / name).is_file():
            fermatas[name] = musicxml.fermata_ticks(corpus.parse(str(source)))
    write_sidecar(out_dir, fermatas, TICKS_PER_BEAT)
    return sum(1 for ticks in fermatas.values() if ticks)


def _write_readme(out_dir: Path, summary: dict) -> None:
    import music21

    skipped = summary["skipped"]
    reasons = "\n".join(f"- `{name}`: {why}" for name, why in skipped) or "- none"
    text = f"""# Bach chorales (bundled training data)

{summary["written"]} four-part chorales by J. S. Bach as Standard MIDI Files, one per
chorale, {summary["bytes"] / 1024:.0f} KiB in total. Built by `scripts/build_bach_dataset.py`
from the corpus of music21 {music21.__version__}; {len(skipped)} corpus pieces were skipped:

{reasons}

## Format
- Four tracks named Soprano, Alto, Tenor, Bass (General MIDI program 52, Choir Aahs).
- {TICKS_PER_BEAT} ticks per beat, the score's time signatures, its metronome mark or
  else {DEFAULT_BPM:g} quarter notes per minute, velocity {VELOCITY}.
- A pickup (anacrusis) is padded with rest at its start, so every full bar of the music
  starts on a bar line of the file.
- Tied notes are merged into one note; repeats are not expanded.
- `phrases.json`: the tick of every fermata (phrase end) per chorale, which MIDI files
  drop; training reads it as phrase-end conditioning (`studio/ml/phrases.py`). A chorale
  whose encoding has no fermatas is listed with none and trains as "phrases unknown".

## Evaluation split
`split.json` lists {summary["eval"]} held-out chorales (`eval`) and the rest (`train`),
chosen by a salted SHA-256 hash of the file name (about {SPLIT_PERCENT}%), so the split is
fixed and does not depend on file order.

## Provenance and licence
The scores are Bach's four-part chorales (18th century, public domain) as encoded in the
corpus that ships with music21 (https://github.com/cuthbertLab/music21, BSD licence).
These MIDI renderings are released into the public domain as well.
"""
    (out_dir / "README.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "resources" / "datasets" / "bach_chorales"
    )
    parser.add_argument(
        "--phrases-only", action="store_true", help="rewrite phrases.json only (fast)"
    )
    args = parser.parse_args(argv)
    if args.phrases_only:
        marked = build_phrases(args.out)
        print(f"wrote {args.out / 'phrases.json'}: {marked} chorales with fermatas")
        return 0
    summary = build(args.out)
    print(
        f"wrote {summary['written']} chorales ({summary['bytes'] / 1024:.0f} KiB) to {args.out}; "
        f"skipped {len(summary['skipped'])}; {summary['eval']} held out for evaluation"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
