"""Phrase ends (fermatas) as conditioning: the sidecar file, window marks and cadence plans.

Bach's chorales mark every phrase end with a fermata, and that is where they hold a chord
for two beats or more. MIDI files cannot carry fermatas, so a training folder may hold a
``phrases.json`` sidecar (written by ``scripts/build_bach_dataset.py``)::

    {"format": "pianola-phrases-1", "ticks_per_beat": 480,
     "files": {"bwv253.mid": [1440, 3360, ...], ...}}

A phrase-conditioned network gets two input planes per step (`PHRASE_PLANES`): *known*
(1 where the phrase ends of this music are given, 0 where nobody said) and *cadence*
(1 for one beat from each phrase end's onset). Files without an entry, or with no
fermatas, train as "unknown", and a share of the training windows is shown as unknown
on purpose, so that the network writes its own phrases when no plan is given. At
generation time a composer's "cadence every N bars" becomes a plan
(`cadence_plan`), placed where the training data's phrase ends fall in the bar.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from studio.core.atomic import atomic_path

SIDECAR_NAME = "phrases.json"
SIDECAR_FORMAT = "pianola-phrases-1"
PHRASE_PLANES = 2  # known, cadence
KNOWN, CADENCE = 0, 1
# A share of training windows shown as "phrases unknown", so that the unconditioned
# network (no plan given) stays a whole model rather than one that never saw zeros.
UNKNOWN_SHARE = 0.25
DEFAULT_EVERY_BARS = 2  # Bach's chorale phrases are mostly two bars long


class PhraseFileError(ValueError):
    """A ``phrases.json`` that cannot be read; training refuses it with this reason."""


def write_sidecar(folder: Path, fermatas: Mapping[str, Sequence[int]], ticks_per_beat: int) -> Path:
    """Write ``folder/phrases.json`` atomically (file name → fermata onset ticks)."""
    data = {
        "format": SIDECAR_FORMAT,
        "ticks_per_beat": int(ticks_per_beat),
        "files": {name: sorted(int(t) for t in ticks) for name, ticks in sorted(fermatas.items())},
    }
    path = Path(folder) / SIDECAR_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    return path


def read_sidecar(folder: Path) -> tuple[dict[str, list[int]], int] | None:
    """(file name → fermata ticks, ticks per beat), or None when the folder has none."""
    path = Path(folder) / SIDECAR_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != SIDECAR_FORMAT:
            raise PhraseFileError(f"format is {data.get('format')!r}, not {SIDECAR_FORMAT!r}")
        tpb = int(data["ticks_per_beat"])
        files = {str(k): [int(t) for t in v] for k, v in dict(data["files"]).items()}
        if tpb <= 0:
            raise PhraseFileError("ticks_per_beat must be positive")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PhraseFileError(f"{path}: cannot read phrase ends ({exc})") from exc
    return files, tpb


def file_phrase_steps(
    folder: Path, names: Sequence[str], steps_per_beat: int
) -> list[np.ndarray | None]:
    """Each usable file's phrase-end onsets in steps (None: phrase ends unknown)."""
    sidecar = read_sidecar(folder)
    if sidecar is None:
        return [None] * len(names)
    files, tpb = sidecar
    out: list[np.ndarray | None] = []
    for name in names:
        ticks = files.get(name) or files.get(Path(name).name)
        if not ticks:
            out.append(None)
        else:
            steps = np.rint(np.asarray(ticks, np.float64) * steps_per_beat / tpb)
            out.append(np.unique(steps.astype(np.int64)))
    return out


def window_marks(
    per_file: Sequence[np.ndarray | None],
    file_index: np.ndarray,
    origin: np.ndarray,
    n_steps: int,
    beat_steps: int,
) -> np.ndarray:
    """``[W, PHRASE_PLANES, n_steps]`` float32 planes of windows cut from those files."""
    out = np.zeros((len(file_index), PHRASE_PLANES, n_steps), np.float32)
    for w, (f, o) in enumerate(zip(file_index.tolist(), origin.tolist(), strict=True)):
        steps = per_file[f] if f < len(per_file) else None
        if steps is None:
            continue
        out[w, KNOWN] = 1.0
        _mark(out[w, CADENCE], steps - o, beat_steps)
    return out


def _mark(row: np.ndarray, onsets: np.ndarray, beat_steps: int) -> None:
    for s in onsets.tolist():
        lo, hi = max(s, 0), min(s + beat_steps, len(row))
        if lo < hi:
            row[lo:hi] = 1.0


def cadence_positions(
    per_file: Sequence[np.ndarray | None],
    ts_per_file: Sequence[np.ndarray],
    steps_per_beat: int,
) -> dict[str, int]:
    """Where in the bar (steps from its downbeat) phrase ends fall most often, per metre
    (``{"4/4": 8, "3/4": 0}``): the training data's habit, kept in the checkpoint so that
    "a cadence every N bars" lands where this music puts its cadences."""
    counts: dict[str, Counter[int]] = {}
    for steps, ts in zip(per_file, ts_per_file, strict=True):
        if steps is None or not len(ts):
            continue
        for s in steps.tolist():
            k = int(np.searchsorted(ts[:, 0], s, side="right")) - 1
            t0, num, den = (int(v) for v in ts[max(k, 0)])
            bar = num * steps_per_beat * 4 // den
            if bar <= 0:
                continue
            counts.setdefault(f"{num}/{den}", Counter())[(s - t0) % bar] += 1
    return {m: c.most_common(1)[0][0] for m, c in sorted(counts.items())}


def cadence_step(positions: Mapping[str, int], metre: tuple[int, int], steps_per_beat: int) -> int:
    """Steps from the downbeat to a phrase end's onset in ``metre``: the data's own
    position, else the commonest metre's position as a share of the bar, on a beat."""
    num, den = metre
    bar = num * steps_per_beat * 4 // den
    name = f"{num}/{den}"
    if name in positions:
        return int(positions[name]) % bar
    if not positions:
        return 0
    ref_name, ref_pos = next(iter(sorted(positions.items())))
    rn, rd = (int(v) for v in ref_name.split("/"))
    share = ref_pos / (rn * steps_per_beat * 4 // rd)
    beat = max(1, steps_per_beat * 4 // den)
    return int(round(share * bar / beat) * beat) % bar


def cadence_plan(
    length: int,
    bar_steps: int,
    every_bars: int,
    position: int,
    beat_steps: int,
    first_bar: int = 0,
) -> np.ndarray:
    """``[PHRASE_PLANES, length]``: a phrase end ``position`` steps into every
    ``every_bars``-th bar (counted from ``first_bar``; 0 bars: no plan, all unknown)."""
    plan = np.zeros((PHRASE_PLANES, length), np.float32)
    if every_bars <= 0:
        return plan
    plan[KNOWN] = 1.0
    bars = range(every_bars - 1 - first_bar % every_bars, -(-length // bar_steps), every_bars)
    onsets = np.array([b * bar_steps + position for b in bars], np.int64)
    _mark(plan[CADENCE], onsets, beat_steps)
    return plan
