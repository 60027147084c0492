"""Write a few hundred real pieces from the music21 corpus as MIDI files.

    .venv/bin/python scripts/write_corpus_sample.py OUT_DIR [--cache DIR]

The files are written by music21's own MIDI writer (not Pianola's), so they test the
importer on MIDI as other programs write it: format 1, 10080 ticks per quarter note,
key signatures, program changes, expanded repeats, chords, grace notes. The sample is
fixed (no randomness): Bach chorales (including those with extra instrumental parts),
folk tunes (Ryan's Mammoth Collection, O'Neill's, the Essen collection), rags and lead
sheets, string quartets (Haydn, Mozart, Beethoven), madrigals, Renaissance and trecento
polyphony, and a few operatic and Baroque works. A corpus piece that music21 itself
cannot convert (a few have malformed repeats) is skipped and listed in the manifest.

Generating takes a few minutes; with ``--cache`` the files are kept in a folder keyed
by the music21 version and the sample list, and later runs only copy them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

MANIFEST = "manifest.json"
SAMPLE_FORMAT = 1  # bump when the way files are written changes (invalidates caches)

# (corpus path, ABC tune number or None, output name). Built by `sample_list()`.
Entry = tuple[str, int | None, str]

ESSEN = ("altdeu10", "ballad10", "kinder0", "han1", "erk5", "irl", "boehme10", "lux", "zuccal0")

SINGLE_WORKS = [
    "joplin/maple_leaf_rag",
    "leadSheet/berlinAlexandersRagtime",
    "leadSheet/fosterBrownHair",
    "haydn/opus1no1/movement1",
    "haydn/opus1no1/movement3",
    "mozart/k156/movement3",
    "mozart/k80/movement3",
    "beethoven/opus18no1/movement3",
    "monteverdi/madrigal.3.1",
    "monteverdi/madrigal.3.2",
    "monteverdi/madrigal.4.1",
    "handel/rinaldo/lascia_chio_pianga",
    "verdi/laDonnaEMobile",
    "corelli/opus3no1/1grave",
    "cpebach/h186",
    "bach/bwv846",
]


def sample_list() -> list[Entry]:
    from music21 import corpus

    def stems(composer: str, suffixes: tuple[str, ...]) -> list[str]:
        found = []
        for path in sorted(str(p) for p in corpus.getComposer(composer)):
            if path.endswith(suffixes):
                found.append(path.split("/corpus/")[-1])
        return found

    entries: list[Entry] = []
    bach = stems("bach", (".mxl", ".xml"))
    entries += [(p, None, "bach_" + Path(p).stem) for p in bach[::3]]  # ~136 chorales
    ryans = stems("ryansMammoth", (".abc",))
    entries += [(p, None, "ryans_" + Path(p).stem) for p in ryans[::10]]  # ~106 tunes
    # Folk collections are ABC files of many tunes: take a few tunes by their X: number.
    for p in stems("oneills1850", (".abc",))[:12:3]:
        first = int(Path(p).stem.split("-")[0])
        entries += [(p, n, f"oneills_{n}") for n in range(first, first + 5)]
    for collection in ESSEN:
        p = f"essenFolksong/{collection}.abc"
        entries += [(p, n, f"essen_{collection}_{n}") for n in range(1, 7)]
    for p in stems("palestrina", (".krn",))[:12:2]:
        entries.append((p, None, "palestrina_" + Path(p).stem))
    for p in stems("trecento", (".xml",))[:12:2]:
        entries.append((p, None, "trecento_" + Path(p).stem))
    entries += [(w, None, w.replace("/", "_").replace(".", "_")) for w in SINGLE_WORKS]
    return entries


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def generate(out_dir: Path, progress: bool = True) -> dict:
    from music21 import corpus
    from music21.midi import translate

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    skipped: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    entries = sample_list()
    for k, (source, index, name) in enumerate(entries):
        try:
            score = corpus.parse(source, number=index)  # number: an ABC tune's X: index
            data = translate.music21ObjectToMidiFile(score).writestr()
        except Exception as exc:  # music21 cannot convert a few corpus pieces
            skipped.append((f"{source}#{index}" if index is not None else source, repr(exc)[:200]))
            continue
        filename = _safe(name) + ".mid"
        (out_dir / filename).write_bytes(data)
        written.append(filename)
        if progress and (k + 1) % 50 == 0:
            print(f"  {k + 1}/{len(entries)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    manifest = {"written": written, "skipped": skipped, "seconds": time.perf_counter() - t0}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def cache_key() -> str:
    import music21

    recipe = json.dumps([SAMPLE_FORMAT, sample_list()])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return f"music21-{music21.__version__}-{digest}"


def write_sample(out_dir: Path, cache_root: Path | None = None, progress: bool = True) -> dict:
    """Write the sample to ``out_dir``; with ``cache_root``, reuse or fill the cache."""
    if cache_root is None:
        return generate(out_dir, progress)
    cached = cache_root / cache_key()
    if not (cached / MANIFEST).is_file():
        partial = cached.with_name(cached.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        generate(partial, progress)
        shutil.rmtree(cached, ignore_errors=True)
        partial.rename(cached)  # only a complete sample becomes the cache
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((cached / MANIFEST).read_text(encoding="utf-8"))
    for filename in [*manifest["written"], MANIFEST]:
        shutil.copyfile(cached / filename, out_dir / filename)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the MIDI files to")
    parser.add_argument("--cache", type=Path, help="cache folder (e.g. .cache/corpus-sample)")
    args = parser.parse_args(argv)
    manifest = write_sample(args.out, args.cache)
    print(
        f"wrote {len(manifest['written'])} pieces to {args.out}; skipped {len(manifest['skipped'])}"
    )
    for source, why in manifest["skipped"]:
        print(f"  skipped {source}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
