"""The read critic's own number through a run: its mean score on the music less its mean
score on the read windows (`read_gap`), and its hinge loss (2 when it cannot tell), per
block of steps of a run's metrics.jsonl.

    .venv/bin/python models/training/stop34/critic_gap.py runs/stop34/critic10 [--every 100]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders")
    parser.add_argument("--every", type=int, default=100, help="steps per row")
    args = parser.parse_args()
    for run in args.runs:
        rows = [json.loads(line) for line in (run / "metrics.jsonl").open()]
        steps = [r for r in rows if r.get("type") == "step"]
        print(f"{run}: steps | critic gap (music − read) | critic hinge loss | recon")
        for start in range(0, len(steps), args.every):
            block = steps[start : start + args.every]
            print(
                f"  {block[0]['step']:>5}–{block[-1]['step']:<5} "
                f"{mean(r.get('read_gap', 0.0) for r in block):7.3f} "
                f"{mean(r['d_loss'] for r in block):7.3f} "
                f"{mean(r['recon'] for r in block):8.4f}"
            )


if __name__ == "__main__":
    main()
