"""Record the keys of a model's training windows in its checkpoint (``data.key_counts``).

Models trained since this field existed carry it (`Trainer.data_meta`); this script adds
it to files made before, by scanning the model's own training source the way it was
trained (the same metres, bars and steps per beat), so "any key" can draw from the keys
of the music the model learnt. Only the metadata changes: every tensor is written back
bit for bit, atomically. ``--check`` only prints the counts.

    .venv/bin/python scripts/record_key_counts.py models/bach-default.pt models/bach-phrases.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.core.keys import Key  # noqa: E402
from studio.ml.checkpoint import atomic_torch_save, load_checkpoint  # noqa: E402
from studio.ml.data import scan_dataset  # noqa: E402
from studio.ml.keying import key_counts  # noqa: E402


def training_key_counts(meta: dict) -> tuple[list[int], int]:
    """(key counts of the training windows, how many windows) for a checkpoint's meta."""
    data = meta["data"]
    summary = data["summary"]
    metres = summary.get("metres")
    scan = scan_dataset(
        summary["source"],
        mapping=summary["mapping"],
        bars=int(summary["bars"]),
        steps_per_beat=int(summary.get("steps_per_beat", 4)),
        # Files from before metre conditioning trained on their one metre only.
        time_signature=None if metres else tuple(summary["time_signature"]),
    )
    if scan.fingerprint != data["fingerprint"]:
        # The fingerprint also covers the parser's version, which has moved on since
        # older models were trained; the window count below is the check that matters.
        print(f"  note: corpus fingerprint {scan.fingerprint}, the model's {data['fingerprint']}")
    windows = scan.train_set
    if len(windows) != int(summary["windows"]):
        sys.exit(f"{len(windows)} training windows found; the model saw {summary['windows']}")
    return key_counts(windows.key), len(windows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="print the counts, write nothing")
    args = parser.parse_args()
    for path in args.checkpoints:
        state, meta = load_checkpoint(path)  # validates the file; state is all of it
        counts, n = training_key_counts(meta)
        top = sorted(range(24), key=lambda k: -counts[k])[:8]
        shares = ", ".join(f"{Key.from_index(k).name} {counts[k] / n:.0%}" for k in top)
        print(f"{path}: {n} windows; most common keys: {shares}")
        if args.check:
            continue
        meta["data"]["key_counts"] = counts
        atomic_torch_save({**state, "meta": json.dumps(meta)}, path)
        print(f"  recorded in {path}")


if __name__ == "__main__":
    main()
