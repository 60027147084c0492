"""Does the network read the metre from its bar and beat planes? (model card, *Stop 30*)

    .venv/bin/python models/training/stop30/metre_planes_nll.py MODEL [MODEL ...]

On Bach's held-out 3/4 and 4/4 windows (200 at most), each voice is hidden alone and the
network is given the other three; its frame and onset loss (BCE, nats per window, summed
over the four voices) is reported with the right metre's planes and with the other's.
A network that used the bar's length would do clearly better with the right one.
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from scripts.metre_check import held_out_rolls
from studio.ml.sample import _conditions, _latents, load_generator, planes_from_roll

METRES = ((3, 4), (4, 4))


def voice_loss(model, roll: np.ndarray, metre: tuple[int, int]) -> float:
    n, t = len(roll), model.config.n_tracks
    real = torch.from_numpy(np.concatenate([roll > 0, roll == 2], axis=1).astype(np.float32))
    z = _latents(model, n, 0)
    cond = _conditions(model, n, metre, None)
    total = 0.0
    for k in range(t):
        mask = np.ones(roll.shape[:3], bool)
        mask[:, k] = False
        with torch.no_grad():
            given = torch.from_numpy(mask).float()
            logits = model.generator(z, planes_from_roll(roll), given, **cond).float()
        rows = [k, t + k]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits[:, rows], real[:, rows], reduction="sum"
        )
        total += loss.item() / n
    return total


torch.set_num_threads(2)
for name in sys.argv[1:]:
    model = load_generator(name)
    print(f"{name} (learnt {model.trained_metres})")
    for true in METRES:
        roll = held_out_rolls(model, true)
        losses = ", ".join(
            f"told {a}/{b}: {voice_loss(model, roll, (a, b)):.1f}" for a, b in METRES
        )
        print(f"  {len(roll)} held-out {true[0]}/{true[1]} windows, nats per window: {losses}")
