"""Quality against training compute: the engine-v2 measures of a run's checkpoints.

    .venv/bin/python scripts/compute_curve.py --base default --run runs/v2ft \
        --out models/training/bach-default-curve

Measures the ``--base`` model (the run's starting point, if it was warm-started) and every
checkpoint in ``--run``'s checkpoints folder with `studio.ml.engine_eval.engine_report`
(without the whole-piece harmonizations, which do not change the ranking), all against
one real-vs-real baseline, and writes a JSON and a markdown table: samples seen,
training time and hardware next to the C2ST scores, the note-length shares,
consecutive perfects and the share of samples in a requested key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_text
from studio.ml import checkpoint as ckpt
from studio.ml.engine_eval import DEFAULT_DECODING, NETWORK_ALONE, engine_report


def compute_of(path: Path) -> dict[str, Any]:
    """Training compute recorded in a checkpoint's meta (this stage only)."""
    _state, meta = ckpt.load_checkpoint(path)
    train = meta.get("train_config", {})
    step = int(meta.get("step", 0))
    return {
        "step": step,
        "samples_seen": step * int(meta.get("batch_size", train.get("batch_size", 0))),
        "train_seconds": float(meta.get("elapsed", 0.0)),
        "device": train.get("device", "?"),
        "init_from": train.get("init_from"),
    }


def point(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, name in (("default", DEFAULT_DECODING), ("alone", NETWORK_ALONE)):
        r = report["results"][name]
        out[label] = {
            "feature_c2st": r["c2st"]["feature"]["accuracy"],
            "conv_c2st": r["c2st"]["conv"]["accuracy"],
            "sixteenth_share": r["note_lengths"]["generated"]["sixteenth_share"],
            "long_note_share": r["note_lengths"]["generated"]["long_note_share"],
            "consecutive_perfects": r["voice_leading"]["consecutive_perfects_rate"],
            "memorisation": r["memorisation_share"],
        }
    asked = report["key_requests"]
    shares, network = asked["shares"], asked.get("network_shares") or {}
    out["key_agreement_min"] = min(shares.values()) if shares else float("nan")
    out["network_key_agreement_min"] = min(network.values()) if network else float("nan")
    return out


def markdown(rows: list[dict[str, Any]], bach: dict[str, Any]) -> str:
    head = (
        "| model | stage steps | samples seen | training time | feature C2ST | conv C2ST "
        "| 16ths | notes >= 2 beats | consecutive 5ths/8ves | keys asked (min): served "
        "/ network's first draw |"
    )
    lines = [head, "|---|---:|---:|---:|---|---|---|---|---|---|"]
    lengths, perf = bach["note_lengths"], bach["voice_leading"]["consecutive_perfects_rate"]
    lines.append(
        f"| Bach (held-out) | | | | {bach['feature_rvr']:.2f} (real-vs-real) "
        f"| {bach['conv_rvr']:.2f} (real-vs-real) | {lengths['sixteenth_share']:.3f} "
        f"| {lengths['long_note_share']:.3f} | {perf:.4f} | |"
    )
    for row in rows:
        d, a = row["default"], row["alone"]

        def pair(key: str, fmt: str, d: dict = d, a: dict = a) -> str:
            return f"{format(d[key], fmt)} / {format(a[key], fmt)}"

        c = row["compute"]
        lines.append(
            f"| {row['label']} | {c['step']} | {c['samples_seen']:,} "
            f"| {c['train_seconds'] / 60:.0f} min {c['device']} "
            f"| {pair('feature_c2st', '.2f')} | {pair('conv_c2st', '.2f')} "
            f"| {pair('sixteenth_share', '.3f')} | {pair('long_note_share', '.3f')} "
            f"| {pair('consecutive_perfects', '.4f')} | {row['key_agreement_min']:.0%} / "
            f"{row['network_key_agreement_min']:.0%} |"
        )
    lines += [
        "",
        "Each cell: default decoding / network alone (one pass, no rules). Samples seen and "
        "time count this stage only.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="run folder whose checkpoints to measure")
    parser.add_argument("--base", help="the model the run started from (--init-from)")
    parser.add_argument("--base-compute", default="{}", help="JSON compute of --base")
    parser.add_argument("--samples", type=int, default=300, help="generated windows each")
    parser.add_argument("--key-samples", type=int, default=32, help="variations per key")
    parser.add_argument("--steps", help="only these checkpoint steps, e.g. 500,1000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="models/training/bach-default-curve", help="stem")
    args = parser.parse_args(argv)
    models: list[tuple[str, str, dict[str, Any]]] = []
    if args.base:
        base_compute = {"step": 0, "samples_seen": 0, "train_seconds": 0.0, "device": ""}
        base_compute.update(json.loads(args.base_compute))
        models.append((f"start ({args.base})", args.base, base_compute))
    folder = Path(args.run) / ckpt.CHECKPOINT_DIR
    wanted = {int(v) for v in args.steps.split(",")} if args.steps else None
    for path in sorted(folder.glob("step_*.pt")):
        compute = compute_of(path)
        if wanted is None or compute["step"] in wanted:
            models.append((path.stem, str(path), compute))
    rows: list[dict[str, Any]] = []
    baseline = None
    bach: dict[str, Any] = {}
    for label, source, compute in models:
        print(f"measuring {label} ...", flush=True)
        report = engine_report(
            source,
            args.samples,
            args.seed,
            harmonize=False,
            key_samples=args.key_samples,
            baseline=baseline,
            progress=lambda t: print("  " + t, flush=True),
        )
        baseline = report["baseline"]
        bach = {
            **report["bach"],
            "feature_rvr": baseline["feature_real_vs_real"]["accuracy"],
            "conv_rvr": baseline["conv_real_vs_real"]["accuracy"],
        }
        rows.append({"label": label, "source": source, "compute": compute, **point(report)})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "command": "python scripts/compute_curve.py " + " ".join(argv or sys.argv[1:]),
        "hardware": f"{os.cpu_count()}-core CPU (measuring)",
        "bach": bach,
        "rows": rows,
    }
    atomic_write_text(out.with_suffix(".json"), json.dumps(result, indent=1, default=float))
    table = markdown(rows, bach)
    atomic_write_text(out.with_suffix(".md"), table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
