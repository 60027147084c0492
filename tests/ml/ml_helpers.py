"""Shared helpers of the ML tests (imported as ``ml_helpers``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from studio.paths import bach_dataset_dir

# Six 4/4 chorales, one of them held out, and one in 3/4 (no 4/4 windows).
CHORALES = ("bwv10.7", "bwv101.7", "bwv102.7", "bwv103.6", "bwv108.6", "bwv110.7", "bwv11.6")
HELD_OUT = "bwv110.7"


def make_chorale_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in CHORALES:
        shutil.copy(bach_dataset_dir() / f"{name}.mid", folder / f"{name}.mid")
    (folder / "split.json").write_text(json.dumps({"eval": [f"{HELD_OUT}.mid"]}))
    return folder


def tiny_config(data: Path, out: Path, cache: Path, **overrides):
    from studio.ml.train import TrainConfig

    settings = {
        "data": str(data),
        "out_dir": str(out),
        "preset": "tiny",
        "steps": 30,
        "batch_size": 8,
        "checkpoint_every": 0,
        "preview_every": 0,
        "metrics_every": 0,
        "device": "cpu",
        "cache_dir": str(cache),
        "seed": 3,
        "threads": 1,
    }
    settings.update(overrides)
    return TrainConfig(**settings)
