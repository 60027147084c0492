"""Does a network's rhythm depend on the metre it is told? (model card, *Stop 31*)

    .venv/bin/python models/training/stop31/metre_nll_hidden.py MODEL [MODEL ...]

On Bach's held-out 3/4 and 4/4 windows (200 at most): the frame and onset loss (BCE, nats
per window, summed over the voices hidden) with every voice hidden (the network's own
rhythm from its inputs alone; mean of latents 0-2) and with one voice hidden at a time
(as stop 30's `metre_planes_nll.py`), told the window's metre and the other one.
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from scripts.metre_check import held_out_rolls
from studio.ml.sample import _conditions, _latents, load_generator, planes_from_roll

METRES = ((3, 4), (4, 4))
bce = torch.nn.functional.binary_cross_entropy_with_logits


def losses(model, roll: np.ndarray, metre: tuple[int, int], hide_all: bool) -> np.ndarray:
    """(frame, onset) nats per window."""
    n, t = len(roll), model.config.n_tracks
    real = torch.from_numpy(np.concatenate([roll > 0, roll == 2], axis=1).astype(np.float32))
    seeds = (0, 1, 2) if hide_all else (0,)
    groups = [list(range(t))] if hide_all else [[k] for k in range(t)]
    out = np.zeros(2)
    for seed in seeds:
        z = _latents(model, n, seed)
        cond = _conditions(model, n, metre, None)
        for hidden in groups:
            mask = np.ones(roll.shape[:3], bool)
            mask[:, hidden] = False
            given = torch.from_numpy(mask).float()
            with torch.no_grad():
                logits = model.generator(z, planes_from_roll(roll), given, **cond).float()
            onsets = [t + k for k in hidden]
            out[0] += bce(logits[:, hidden], real[:, hidden], reduction="sum").item() / n
            out[1] += bce(logits[:, onsets], real[:, onsets], reduction="sum").item() / n
    return out / len(seeds)


torch.set_num_threads(2)
for name in sys.argv[1:]:
    model = load_generator(name)
    print(name)
    for true in METRES:
        roll = held_out_rolls(model, true)
        for hide_all in (True, False):
            r = {m: losses(model, roll, m, hide_all) for m in METRES}
            label = "all hidden" if hide_all else "one voice hidden"
            cells = "; ".join(
                f"told {a}/{b}: frame {r[(a, b)][0]:.1f} onset {r[(a, b)][1]:.1f}"
                for a, b in METRES
            )
            print(f"  {true[0]}/{true[1]} windows ({len(roll)}), {label}: {cells}")
