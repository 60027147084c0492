"""The note-length loss's own number for trained generators: each voice's note-length
shares as the network's one-pass onset probabilities imply them (mean field,
`studio.ml.losses.note_length_histogram`) against the music's, on the first 8 training
batches of 32 a run draws (seed 0), with their task masks (no interleaved or off-grid
windows). For `small`-preset generators (the default model's recipe).

    .venv/bin/python models/training/stop33/length_probe.py bach-lines \
        runs/stop33/len10/checkpoints/step_0002000.pt
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from studio.ml import train as tr
from studio.ml.losses import length_divergence

BATCHES = 8


def implied_and_real(model: str) -> tuple[torch.Tensor, torch.Tensor]:
    config = tr.TrainConfig(
        data="bach-chorales",
        out_dir="/tmp/pianola-length-probe",
        preset="small",
        init_from=model,
    )
    trainer = tr.Trainer(config)
    cfg = trainer.model_cfg
    ours = theirs = torch.zeros(len(trainer.mono_tracks), 2 * cfg.steps_per_beat)
    trainer.g.eval()
    for step in range(BATCHES):
        real, mask, z, _roll = trainer.make_batch(step, 32)
        cond = trainer.batch_conditions(step, len(real))
        with torch.no_grad():
            probs = torch.sigmoid(trainer.g_run(z, real, mask, **cond).float())
        given = mask[:, :, :, None].expand(-1, -1, -1, cfg.n_pitches).repeat(1, 2, 1, 1)
        fake = tr.answer_with_given(probs, real, given)
        network, music = trainer.note_lengths(fake, real, mask, threshold=0.0)
        ours, theirs = ours + network, theirs + music
    return ours, theirs


def main(models: list[str]) -> int:
    torch.set_num_threads(2)
    np.set_printoptions(precision=3, suppress=True)
    for model in models:
        ours, theirs = implied_and_real(model)
        print(f"{model}: Jensen-Shannon {float(length_divergence(ours, theirs)):.4f} nats")
        print("  voice: shares of notes of 1 .. 7 steps, 8 or more (network / music)")
        for v, name in enumerate("SATB"[: len(ours)]):
            network, music = ours[v] / ours[v].sum(), theirs[v] / theirs[v].sum()
            print(f"  {name} {network.numpy()} / {music.numpy()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["bach-lines"]))
