"""Does a phrase-conditioned model hold its cadences where it is asked to? A quick check.

    .venv/bin/python scripts/cadence_check.py runs/phr/checkpoints/step_0000500.pt [N]

Generates N 4-bar windows (default 64, seed 0, default decoding) twice: with the default
cadence plan (a phrase end every 2 bars) and with none. Both are measured at the plan's
phrase ends with `studio.ml.quality.cadence_holds` (voices arriving together, voices
holding two beats), next to the note-length shares. The full measure is
`scripts/evaluate_engine_v2.py`; this one takes a minute on a 2-core CPU.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from studio.ml import quality
from studio.ml.phrases import DEFAULT_EVERY_BARS
from studio.ml.sample import generate_rolls, load_generator


def main(argv: list[str]) -> int:
    source = argv[0] if argv else "default"
    n = int(argv[1]) if len(argv) > 1 else 64
    torch.set_num_threads(1)
    model = load_generator(source)
    if not model.phrase_conditioned:
        print(f"{source}: this model was trained without phrase ends", file=sys.stderr)
        return 2
    spb = model.config.steps_per_beat
    plan = model.phrase_plan(model.config.n_steps, None, DEFAULT_EVERY_BARS)
    marks = np.repeat(plan[None], n, axis=0)  # type: ignore[index]
    for every in (DEFAULT_EVERY_BARS, 0):
        rolls = generate_rolls(model, n, 0, cadence_every=every)
        held = quality.cadence_holds(rolls, marks, spb)
        shares = quality.length_shares(rolls, spb)
        label = f"cadence every {every} bars" if every else "no plan"
        print(
            f"{label:>22}: arrive {held['arrive_share']:.3f}  hold {held['hold_share']:.3f}  "
            f"16ths {shares['sixteenth_share']:.3f}  >=2 beats {shares['long_note_share']:.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
