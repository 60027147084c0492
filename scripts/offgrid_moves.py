"""Where a voice leaves its note between two of its eighths (a sixteenth): the network's
odds against Bach's own (the model card's *Sixteenths*).

    .venv/bin/python scripts/offgrid_moves.py --model bach-lines

The held-out chorales are given with every voice's steps off the eighth grid hidden (the
mask of the sixteenths pass, `studio.ml.sample.sixteenth_masks`). At each hidden step
whose voice sounded the step before, per voice:

* Bach: the share of those steps where a note starts or the note ends;
* network: the odds the sixteenths pass draws from, the held pitch's ``1 - frame`` (its
  "the note does not go on", `studio.ml.voicing.hold_or_move_between`), mean over the
  steps at temperature 1 and at ``--temperature``;
* AUC: how well those odds rank the steps where Bach moved above those where he did not
  (0.5: no better than chance);
* summed onsets: the other reading of the same outputs, the other pitches' onsets summed
  (what `hold_strike_or_move` draws from on a beat), mean at temperature 1, and its AUC.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.core.pianoroll import ONSET
from studio.ml import c2st, engine_eval
from studio.ml.metrics import top_pitch
from studio.ml.sample import (
    _conditions,
    _latents,
    load_generator,
    planes_from_roll,
    sixteenth_masks,
)


def auc_of(score: np.ndarray, positive: np.ndarray) -> float:
    """How well ``score`` ranks the ``positive`` steps above the others (`c2st.auc`)."""
    return c2st.auc(score[positive], score[~positive])


def drawn_share(masses: np.ndarray, temperature: float) -> np.ndarray:
    """The share of a draw among ``[hold, strike, move]`` masses that is not a hold."""
    w = masses ** (1.0 / temperature)
    return (w[:, 1] + w[:, 2]) / np.maximum(w.sum(axis=1), 1e-12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="bach-lines", help="checkpoint, run folder or name")
    parser.add_argument("--temperature", type=float, default=None, help="default: the model's")
    args = parser.parse_args(argv)
    model = load_generator(args.model)
    temperature = args.temperature or model.voicing.sixteenth_temperature or 1.0
    cfg = model.config
    held = engine_eval.window_sets(model, 1500, 0)["held"]
    n = len(held)
    (mask,) = sixteenth_masks(np.zeros(held.shape[:3], bool), True, model.voicing.onset_grid)
    with torch.no_grad():
        logits = model.generator(
            _latents(model, n, 0),
            planes_from_roll(held),
            torch.from_numpy(mask).float(),
            **_conditions(model, n, None, None),
        ).float()
    t, rows = cfg.n_tracks, np.arange(n)
    tops = top_pitch(held)
    hidden_steps = np.flatnonzero(~mask[0, 0])
    names = [tpl["name"] for tpl in model.templates]
    print(f"{args.model}: {n} held-out windows, steps off the eighth grid hidden")
    print()
    print(
        "| voice | steps | Bach | network, T 1 | "
        f"network, T {temperature:g} | AUC | summed onsets, T 1 | its AUC |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for k in range(t):
        frame = torch.sigmoid(logits[:, k]).numpy()
        onset = torch.sigmoid(logits[:, t + k]).numpy()
        starts = (held[:, k] == ONSET).any(axis=-1)
        own, summed, moved = [], [], []
        for s in hidden_steps:
            before = tops[:, k, s - 1]
            sounded = before >= 0
            pitch = np.maximum(before, 0)
            again = onset[rows, s, pitch]
            hold = np.maximum(frame[rows, s, pitch] - again, 0.0)
            leave = np.maximum(1.0 - frame[rows, s, pitch], 0.0)
            others = onset[:, s].sum(axis=1) - again
            own.append(np.stack([hold, again, leave], axis=1)[sounded])
            summed.append(np.stack([hold, again, others], axis=1)[sounded])
            moved.append((starts[:, s] | (tops[:, k, s] != before))[sounded])
        o, m, bach = np.concatenate(own), np.concatenate(summed), np.concatenate(moved)
        cells = [
            f"{len(bach)}",
            f"{bach.mean():.4f}",
            f"{drawn_share(o, 1.0).mean():.4f}",
            f"{drawn_share(o, temperature).mean():.4f}",
            f"{auc_of(drawn_share(o, 1.0), bach):.3f}",
            f"{drawn_share(m, 1.0).mean():.4f}",
            f"{auc_of(drawn_share(m, 1.0), bach):.3f}",
        ]
        print(f"| {names[k]} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
