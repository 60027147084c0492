"""Where a reading's rhythm parts from Bach's, voice by voice (the model card's *Stop 29:
what the rules do to the rhythm*).

    .venv/bin/python scripts/rhythm_tells.py --model bach-lines
    .venv/bin/python scripts/rhythm_tells.py --model bach-lines --set rules=false

Windows from scratch, read as the model's file names (``--set FIELD=VALUE`` changes a
`VoiceDecoding` field, as in `reading_ablation.py`), against the held-out windows:

* how often a sounding voice holds its note at each step of the beat (the beat itself,
  the eighth after it and the sixteenths between);
* each voice's note lengths in steps (notes cut by the window's edges left out; the rare
  lengths of 5, 7 and 9-11 steps are not shown, so a row need not sum to 1);
* the feature C2ST on each family of `window_features` alone and without it, which says
  whether the rhythm, the register, the lines or the texture gives the windows away.
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
from studio.ml import c2st, engine_eval
from studio.ml.metrics import note_table, top_pitch
from studio.ml.sample import load_generator

LENGTHS = (1, 2, 3, 4, 6, 8, 12)  # steps; the last column counts 12 or more
# `window_features` columns by what they describe (matched on the feature's name).
FAMILIES = {
    "rhythm": (
        "step notes",
        "notes per step",
        "notes of",
        "notes >=",
        "silent",
        "onset",
        "on a beat",
    ),
    "register": ("mean pitch", "spread", "range", "gap "),
    "lines": ("interval", "leaps", "repeated"),
    "texture and tonality": ("sounding per step", "every voice", "entropy", "classes used"),
}


def hold_shares(rolls: np.ndarray, steps_per_beat: int) -> np.ndarray:
    """``[T, steps_per_beat]``: the share of steps at each position in the beat where a
    voice that sounded a step before goes on with the same note (no new onset)."""
    tops = top_pitch(rolls)
    onsets = (rolls == ONSET).any(axis=-1)
    out = np.zeros((rolls.shape[1], steps_per_beat))
    steps = np.arange(1, rolls.shape[2])
    for k in range(rolls.shape[1]):
        for pos in range(steps_per_beat):
            s = steps[steps % steps_per_beat == pos]
            sounded = tops[:, k, s - 1] >= 0
            held = (tops[:, k, s] == tops[:, k, s - 1]) & ~onsets[:, k, s]
            out[k, pos] = held[sounded].mean() if sounded.any() else float("nan")
    return out


def length_shares(rolls: np.ndarray) -> np.ndarray:
    """``[T, len(LENGTHS)]``: each voice's share of notes lasting each of ``LENGTHS`` steps
    (the last: that many or more), notes touching the window's edges left out."""
    _sample, track, _pitch, start, length = note_table(rolls)
    inside = (start > 0) & (start + length < rolls.shape[2])
    out = np.zeros((rolls.shape[1], len(LENGTHS)))
    for k in range(rolls.shape[1]):
        lengths = length[inside & (track == k)]
        shares = [(lengths == n).mean() for n in LENGTHS[:-1]] + [(lengths >= LENGTHS[-1]).mean()]
        out[k] = shares if len(lengths) else np.nan
    return out


def family_c2st(
    generated: np.ndarray, held: np.ndarray, held_files: np.ndarray, steps_per_beat: int
) -> dict[str, tuple[float, float]]:
    """Feature C2ST on each family of features alone and on the rest, with every feature
    under ``"all"``."""
    names = c2st.feature_names(generated.shape[1])
    fa = c2st.window_features(generated, steps_per_beat)
    fb = c2st.window_features(held, steps_per_beat)

    def score(columns: list[int]) -> float:
        return c2st.two_sample_accuracy(
            fa[:, columns], fb[:, columns], c2st.train_features, 0, 5, None, held_files
        ).accuracy

    everything = list(range(len(names)))
    out = {"all": (score(everything), float("nan"))}
    for family, words in FAMILIES.items():
        inside = [i for i, name in enumerate(names) if any(w in name for w in words)]
        rest = [i for i in everything if i not in inside]
        out[family] = (score(inside), score(rest))
    return out


def print_pairs(
    rows: list[str], columns: list[str], generated: np.ndarray, bach: np.ndarray
) -> None:
    """A markdown table of ``generated / bach`` per row and column."""
    print("| voice | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, g, b in zip(rows, generated, bach, strict=True):
        cells = (f"{x:.3f} / {y:.3f}" for x, y in zip(g, b, strict=True))
        print(f"| {name} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="checkpoint, run folder or bundled name")
    parser.add_argument("--samples", type=int, default=300, help="windows from scratch")
    parser.add_argument("--seed", type=int, default=0, help="latents and sampling seed")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=VALUE", help="VoiceDecoding fields"
    )
    args = parser.parse_args(argv)
    model = load_generator(args.model)
    cfg = model.config
    spb = cfg.steps_per_beat
    voicing = dataclasses.replace(model.voicing, **dict(field_override(t) for t in args.set))
    generated = from_scratch(model, voicing, args.samples, args.seed)
    sets = engine_eval.window_sets(model, 10, 0)
    held = sets["held"]
    names = [t["name"] for t in model.templates]

    print("Holds: a sounding voice goes on with its note, by step of the beat (generated / Bach)\n")
    print_pairs(
        names,
        [f"step {p}" for p in range(spb)],
        hold_shares(generated, spb),
        hold_shares(held, spb),
    )

    print("\nNote lengths in steps, share of each voice's notes (generated / Bach)\n")
    columns = [str(n) for n in LENGTHS[:-1]] + [f"{LENGTHS[-1]}+"]
    print_pairs(names, columns, length_shares(generated), length_shares(held))

    print("\nFeature C2ST on each family of features (alone / all the others)\n")
    print("| family | alone | without it |")
    print("|---|---|---|")
    for family, (alone, without) in family_c2st(generated, held, sets["held_files"], spb).items():
        print(
            f"| {family} | {alone:.3f} | " + ("—" if family == "all" else f"{without:.3f}") + " |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
