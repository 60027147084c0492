"""Measure a model against issue 12's engine-v2 targets and write a JSON + markdown report.

    .venv/bin/python scripts/evaluate_engine_v2.py --model default --samples 300 \
        --out models/training/engine-v2-baseline

The measures are `studio.ml.engine_eval`'s (also `pianola evaluate --c2st`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from studio.core.atomic import atomic_write_text
from studio.ml.engine_eval import engine_report, markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="checkpoint, run folder or default")
    parser.add_argument("--samples", type=int, default=300, help="generated windows per decoding")
    parser.add_argument("--training-windows", type=int, default=1500, help="real-vs-real set")
    parser.add_argument("--seed", type=int, default=0, help="sampling and classifier seed")
    parser.add_argument("--out", default="models/training/engine-v2-baseline", help="stem")
    parser.add_argument(
        "--refine", type=int, default=None, help="default decoding's rounds (default: the model's)"
    )
    parser.add_argument(
        "--beat-rounds", type=int, default=None, help="its beat rounds (default: the model's)"
    )
    args = parser.parse_args(argv)
    report = engine_report(
        args.model,
        args.samples,
        args.seed,
        args.training_windows,
        lambda t: print(t, flush=True),
        refine_rounds=args.refine,
        beat_rounds=args.beat_rounds,
    )
    report["command"] = "python scripts/evaluate_engine_v2.py " + " ".join(argv or sys.argv[1:])
    report["hardware"] = f"{os.cpu_count()}-core CPU"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out.with_suffix(".json"), json.dumps(report, indent=1, default=float))
    atomic_write_text(out.with_suffix(".md"), markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
