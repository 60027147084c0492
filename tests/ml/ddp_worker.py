"""One rank of the DDP test: ``torchrun --nproc_per_node 2 ddp_worker.py DATA OUT CACHE``.

Each rank trains a few tiny steps with gloo and saves its own final weights, so the test
can check that every rank ended with the same model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from studio.ml import train as tr


def main() -> None:
    data, out, cache = sys.argv[1:4]
    config = tr.TrainConfig(
        data=data,
        out_dir=out,
        preset="tiny",
        steps=3,
        batch_size=4,
        checkpoint_every=0,
        preview_every=0,
        metrics_every=0,
        device="cpu",
        cache_dir=cache,
        threads=1,
        seed=5,
    )
    trainer_state = {}
    original = tr.Trainer.__init__

    def capture(self, *args, **kwargs):
        original(self, *args, **kwargs)
        trainer_state["trainer"] = self

    tr.Trainer.__init__ = capture
    events = list(tr.train(config))
    assert isinstance(events[-1], tr.Finished)
    trainer = trainer_state["trainer"]
    rank = int(os.environ["RANK"])
    torch.save(
        {
            "generator": trainer.g.state_dict(),
            "discriminator": trainer.d.state_dict(),
            "first_batch": trainer.make_batch(0, 4)[3],
        },
        Path(out) / f"rank{rank}.pt",
    )


if __name__ == "__main__":
    main()
