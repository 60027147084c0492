"""DistributedDataParallel: two CPU processes with gloo end with identical weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from studio.ml import checkpoint as ckpt


def test_two_gloo_processes_end_with_identical_weights(chorales, cache_dir, tmp_path):
    out = tmp_path / "run"
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(worker),
            str(chorales),
            str(out),
            str(cache_dir),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    a = torch.load(out / "rank0.pt", weights_only=True)
    b = torch.load(out / "rank1.pt", weights_only=True)
    for net in ("generator", "discriminator"):
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key} differs between ranks"
    # Each rank trained on its own shard of windows.
    assert not torch.equal(a["first_batch"], b["first_batch"])
    # Only rank 0 wrote checkpoints and logs.
    saved = ckpt.list_checkpoints(out)
    assert [ckpt.step_of(p) for p in saved] == [3]
    _, meta = ckpt.load_checkpoint(saved[0])
    assert meta["world_size"] == 2
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
