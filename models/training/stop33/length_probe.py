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
from studio.ml.losses import length_divergence, note_length_histogram

BATCHES = 8


def implied_and_real(model: str) -> tuple[torch.Tensor, torch.Tensor]:
    config = tr.TrainConfig(
        data="bach-chorales",
        out_dir="/tmp/pianola-length-probe",
        preset="small",
        init_from=model,
    )
    trainer = tr.Trainer(config)
    cfg, mono, t = trainer.model_cfg, trainer.mono_tracks, trainer.model_cfg.n_tracks
    onset_rows = [t + k for k in mono]
    ours = theirs = torch.zeros(len(mono), 2 * cfg.steps_per_beat)
    trainer.g.eval()
    for step in range(BATCHES):
        real, mask, z, _roll = trainer.make_batch(step, 32)
        cond = trainer.batch_conditions(step, len(real))
        with torch.no_grad():
            probs = torch.sigmoid(trainer.g_run(z, real, mask, **cond).float())
        planes = torch.cat([probs[:, :t], probs[:, t:] * probs[:, :t]], dim=1)
        m2 = mask[:, :, :, None].expand(-1, -1, -1, cfg.n_pitches).repeat(1, 2, 1, 1)
        fake = m2 * real + (1 - m2) * planes
        starts = 1 - mask[:, mono].float()
        longest = 2 * cfg.steps_per_beat
        ours = ours + note_length_histogram(fake[:, mono], fake[:, onset_rows], starts, longest)
        theirs = theirs + note_length_histogram(real[:, mono], real[:, onset_rows], starts, longest)
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
