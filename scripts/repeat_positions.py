"""Where in the beat each voice strikes its own pitch again, generated against Bach's
held-out windows (the model card's *Off-beat repeats*):

    .venv/bin/python scripts/repeat_positions.py --model default
    .venv/bin/python scripts/repeat_positions.py --model default --set offbeat_repeats=true

Per voice and position of the note's onset in the beat (on the beat, the sixteenth after
it, the off-beat eighth, the last sixteenth): the share of notes whose pitch is the one
before it in the voice, with the number of notes there in brackets.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.reading_ablation import field_override, from_scratch
from studio.core.pianoroll import ONSET
from studio.ml import engine_eval
from studio.ml.sample import load_generator

POSITIONS = ("beat", "16th", "8th", "last 16th")


def repeat_table(rolls: np.ndarray, steps_per_beat: int) -> tuple[np.ndarray, np.ndarray]:
    """``(repeats, notes)``, each ``[voices, steps_per_beat]``: per voice and onset position
    in the beat, the notes that repeat the voice's previous pitch, and all notes."""
    windows, voices, _steps, _pitches = rolls.shape
    repeats = np.zeros((voices, steps_per_beat))
    notes = np.zeros((voices, steps_per_beat))
    for w in range(windows):
        for v in range(voices):
            steps, pitches = np.nonzero(rolls[w, v] == ONSET)
            first = np.unique(steps, return_index=True)[1]  # the lowest onset of a step
            steps, pitches = steps[first], pitches[first]
            at = steps[1:] % steps_per_beat
            np.add.at(notes[v], at, 1)
            np.add.at(repeats[v], at, pitches[1:] == pitches[:-1])
    return repeats, notes


def _print(label: str, rolls: np.ndarray, steps_per_beat: int, names: list[str]) -> None:
    repeats, notes = repeat_table(rolls, steps_per_beat)
    heads = POSITIONS if steps_per_beat == 4 else tuple(map(str, range(steps_per_beat)))
    print(f"\n{label}\n\n| voice | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for v, name in enumerate(names):
        cells = (
            f"{repeats[v, k] / max(notes[v, k], 1):.2f} ({int(notes[v, k])})"
            for k in range(steps_per_beat)
        )
        print(f"| {name} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="checkpoint, run folder or name")
    parser.add_argument("--samples", type=int, default=300, help="windows from scratch")
    parser.add_argument("--seed", type=int, default=0, help="latents and sampling seed")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=VALUE", help="e.g. offbeat_repeats=true"
    )
    args = parser.parse_args(argv)
    model = load_generator(args.model)
    voicing = dataclasses.replace(model.voicing, **dict(field_override(t) for t in args.set))
    cfg = model.config
    n = args.samples
    roll = from_scratch(model, voicing, n, args.seed)
    names = [t.name or f"voice {k}" for k, t in enumerate(model.track_templates())]
    spb = cfg.steps_per_beat
    _print(f"{args.model}, {n} windows, seed {args.seed}, {voicing}", roll, spb, names)
    held = engine_eval.window_sets(model, 1, 0)["held"]
    _print(f"Bach, {len(held)} held-out windows", held, spb, names)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
