"""How closely a distilled model answers as its teacher, on training-style inputs.

For each checkpoint: the KL divergence of its frame and onset probabilities from the
teacher's on the hidden cells (per cell, mean over three batches of 32 windows with the
trainer's task masks and latents), and how often its most likely pitch for a voice
matches the teacher's where the teacher expects the voice to sound.

    .venv/bin/python scripts/distill_gap.py --teacher default runs/small/checkpoints/*.pt
"""

from __future__ import annotations

import argparse

import torch

from studio.ml import train as tr
from studio.ml.sample import load_generator


def _kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    p, q = p.clamp(1e-6, 1 - 1e-6), q.clamp(1e-6, 1 - 1e-6)
    return p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--teacher", default="default")
    parser.add_argument("--data", default="bach-chorales")
    args = parser.parse_args()
    torch.set_num_threads(1)
    probe = tr.TrainConfig(
        data=args.data, preset="small", distill_from=args.teacher, out_dir="/tmp/distill-gap"
    )
    trainer = tr.Trainer(probe)  # its batches: the same windows, masks and latents
    teacher = trainer.teacher
    assert teacher is not None
    batches = []
    for step in (100_001, 100_002, 100_003):
        real, mask, z, _ = trainer.make_batch(step, 32)
        batches.append((z, real, mask, trainer.batch_conditions(step, 32)))
    print("| checkpoint | KL frame (×1e-3) | KL onset (×1e-3) | top-pitch agreement |")
    print("|---|---:|---:|---:|")
    for path in args.checkpoints:
        student = load_generator(path).generator
        t = student.cfg.n_tracks
        frame = onset = agree = 0.0
        with torch.no_grad():
            for z, real, mask, cond in batches:
                p_t = torch.sigmoid(teacher(z, real, mask, **cond))
                p_s = torch.sigmoid(student(z, real, mask, **cond))
                hidden = (1 - mask)[:, :, :, None].expand(-1, -1, -1, p_t.shape[-1])
                k = _kl(p_t, p_s)
                frame += float((k[:, :t] * hidden).sum() / hidden.sum())
                onset += float((k[:, t:] * hidden).sum() / hidden.sum())
                sure = (p_t[:, :t].sum(-1) > 0.5) & (hidden[..., 0] > 0)
                same = p_t[:, :t].argmax(-1) == p_s[:, :t].argmax(-1)
                agree += float((same & sure).sum() / sure.sum())
        n = len(batches)
        print(f"| {path} | {frame / n * 1e3:.2f} | {onset / n * 1e3:.2f} | {agree / n:.3f} |")


if __name__ == "__main__":
    main()
