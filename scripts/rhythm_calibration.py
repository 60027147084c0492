"""Where does a model's rhythm go wrong: in the network, or in how its output is read?

Each voice of the held-out windows is hidden in turn, the other three given (Bach's own),
as in a refinement pass. Per metric position (beat, off-beat eighth, sixteenth) it prints
how often Bach starts a note there, how many the network expects (the sum over pitch rows
of P(onset) x P(sounding): its own rate, no reading), and how many the default decoding
starts. For the sixteenths it also prints how often the network is sure of a new pitch
there (P(onset) x P(sounding) of the best pitch other than the voice's last, above a bar).

    .venv/bin/python scripts/rhythm_calibration.py --model default --windows 256
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.core.pianoroll import ONSET  # noqa: E402
from studio.ml.engine_eval import window_sets  # noqa: E402
from studio.ml.generation import load_model  # noqa: E402
from studio.ml.sample import _conditions, decode, planes_from_roll  # noqa: E402

BARS = (0.5, 0.25, 0.15, 0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="checkpoint, run folder or default")
    parser.add_argument("--windows", type=int, default=256, help="held-out windows to use")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    cfg = model.config
    sets = window_sets(model, 10, 0)
    held = sets["held"][: args.windows]
    n, t, s, _p = held.shape
    spb = cfg.steps_per_beat
    z = torch.randn(n, cfg.z_dim, generator=torch.Generator().manual_seed(0))
    cond = _conditions(model, n, None, None)
    if model.phrase_conditioned:  # Bach's own phrase ends, as the held-out windows have them
        cond["phrases"] = torch.from_numpy(np.ascontiguousarray(sets["held_marks"][:n])).float()
    phase = np.arange(s) % spb
    positions = {
        "beat": phase == 0,
        "off-beat eighth": phase == spb // 2,
        "sixteenth": phase % 2 == 1,
    }
    print(f"{args.model}: {n} held-out windows, one voice hidden at a time, the others Bach's\n")
    print("| voice | " + " | ".join(f"{p}: Bach / network / decoded" for p in positions) + " |")
    print("|---|" + "---|" * len(positions))
    sure_rows = []
    for voice in range(t):
        mask = np.ones((n, t, s), bool)
        mask[:, voice] = False
        with torch.no_grad():
            logits = model.generator(
                z, planes_from_roll(held), torch.from_numpy(mask).float(), **cond
            )
        strike = (torch.sigmoid(logits[:, voice]) * torch.sigmoid(logits[:, t + voice])).numpy()
        real = (held[:, voice] == ONSET).any(axis=2)
        decoded = decode(logits, model.monophonic, given=held, known=mask, voicing=model.voicing)
        read = (decoded[:, voice] == ONSET).any(axis=2)
        expected = strike.sum(axis=2)
        cells = [
            f"{real[:, sel].mean():.3f} / {expected[:, sel].mean():.3f} / {read[:, sel].mean():.3f}"
            for sel in positions.values()
        ]
        name = model.templates[voice]["name"]
        print(f"| {name} | " + " | ".join(cells) + " |")
        # How sure is the network of a new pitch on a sixteenth? (the voice's last pitch out)
        sounding = (held[:, voice] > 0).any(axis=2)
        pitch = np.where(sounding, (held[:, voice] > 0).argmax(axis=2), -1)
        before = np.concatenate([np.full((n, 1), -1), pitch[:, :-1]], axis=1)
        rows, steps = np.nonzero(before >= 0)
        strike[rows, steps, before[rows, steps]] = 0.0
        best = strike.max(axis=2)[:, positions["sixteenth"]]
        sure = " / ".join(f"{(best > bar).mean():.4f}" for bar in BARS)
        sure_rows.append(f"| {name} | {real[:, positions['sixteenth']].mean():.4f} | {sure} |")
    print("\nSixteenth steps: Bach's onset rate, and how often the network's best new pitch")
    print("passes each bar (" + " / ".join(str(b) for b in BARS) + "):\n")
    print("| voice | Bach | network sure above " + " / ".join(str(b) for b in BARS) + " |")
    print("|---|---|---|")
    print("\n".join(sure_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
