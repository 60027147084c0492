"""Write a generator-only model file (what Pianola ships) from a training checkpoint.

    .venv/bin/python scripts/export_generator.py runs/bundled/stage2/checkpoints/step_0001000.pt \
        models/bach-default.pt

The training checkpoint also holds the critic, both optimizers and the RNG state (for an
exact --resume); a composer's app needs only the generator and the metadata.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.ml import checkpoint as ckpt  # noqa: E402
from studio.ml.generation import REFINE_RANGE  # noqa: E402
from studio.ml.voicing import VoiceDecoding  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    rounds = range(REFINE_RANGE[0], REFINE_RANGE[1] + 1)
    parser.add_argument("checkpoint", help="a training checkpoint (or run folder)")
    parser.add_argument("out", help="the generator-only file to write")
    parser.add_argument(
        "--refine-rounds",
        type=int,
        choices=rounds,
        help="the refinement rounds generation reads this model with by default: what its "
        "model card measured (default: the checkpoint's own, else the engine's 2)",
    )
    parser.add_argument(
        "--beat-rounds",
        type=int,
        choices=rounds,
        help="the beat-interleaved rounds after them (VoiceDecoding.beat_rounds; default: "
        "the checkpoint's own, else none)",
    )
    parser.add_argument(
        "--beat-temperature",
        type=float,
        help="the temperature its beat passes draw at (VoiceDecoding.beat_temperature)",
    )
    parser.add_argument(
        "--drawn-beat-moves",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether its drawn passes draw hold, re-strike or move on each beat from the "
        "network's own masses (VoiceDecoding.drawn_beat_moves; default: the checkpoint's own)",
    )
    parser.add_argument(
        "--offbeat-repeats",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether a sounding voice may strike its own pitch again off the beat "
        "(VoiceDecoding.offbeat_repeats; --no-offbeat-repeats: it holds instead; default: "
        "the checkpoint's own, else yes)",
    )
    parser.add_argument(
        "--sixteenth-temperature",
        type=float,
        help="the temperature of a last pass that draws where each voice moves between its "
        "eighths (VoiceDecoding.sixteenth_temperature; for a network trained with "
        "--offgrid-share; default: the checkpoint's own, else no such pass)",
    )
    args = parser.parse_args(argv)
    try:  # the engine's own check, before a file that every load would refuse is written
        VoiceDecoding(
            beat_temperature=args.beat_temperature,
            sixteenth_temperature=args.sixteenth_temperature,
        )
    except ValueError as exc:
        parser.error(str(exc))
    state, meta = ckpt.load_checkpoint(ckpt.resolve_model(args.checkpoint))
    if "generator" not in state:
        parser.error(f"{args.checkpoint} holds no generator weights")
    reading = dict(meta.get("reading") or {})
    named = ("refine_rounds", "beat_rounds", "beat_temperature", "drawn_beat_moves")
    for key in (*named, "offbeat_repeats", "sixteenth_temperature"):
        if getattr(args, key) is not None:
            reading[key] = getattr(args, key)
    if reading:
        meta["reading"] = reading
    ckpt.save_checkpoint(Path(args.out), {"generator": state["generator"]}, meta)
    print(f"wrote {args.out} (step {meta.get('step')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
