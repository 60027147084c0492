"""How well bundled models write a metre other than 4/4, against Bach's held-out windows
in that metre (the model card's *The default model*):

    .venv/bin/python scripts/metre_check.py --model default bach-default --metre 3/4

Per model: the feature C2ST against the held-out windows of the metre (folds keep each
chorale whole, as in `pianola evaluate --c2st`), where notes start in the bar (on the
downbeat, on the other beats, off the beat), notes of two beats or more, and the
single features that tell the windows apart best. The same numbers for Bach's training
windows of that metre stand in the first row. ``--alone`` adds a row per model for its
network alone (one pass, no rules, no refinement), to tell what the network writes in the
metre from what the reading makes of it (model card, *Stop 30*).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.reading_ablation import from_scratch
from studio.ml import c2st, quality
from studio.ml.data import DatasetScan, scan_dataset
from studio.ml.metre import Metre, bar_steps, parse_metre
from studio.ml.sample import LoadedModel, load_generator


def onset_places(rolls: np.ndarray, steps_per_bar: int, steps_per_beat: int) -> dict[str, float]:
    """Shares of all note onsets on the downbeat, on another beat, and off the beat."""
    onsets = np.argwhere(rolls == 2)  # [window, voice, step, pitch]
    step = onsets[:, 2] % steps_per_bar
    on_beat = step % steps_per_beat == 0
    n = max(len(step), 1)
    return {
        "downbeat": float((step == 0).sum() / n),
        "other beats": float((on_beat & (step != 0)).sum() / n),
        "off the beat": float((~on_beat).sum() / n),
    }


def metre_scan(model: LoadedModel, metre: Metre) -> DatasetScan:
    """The windows in ``metre`` of the data ``model`` was trained on (its own split)."""
    meta = model.meta.get("data", {})
    return scan_dataset(
        meta.get("summary", {}).get("source", "bach-chorales"),
        mapping=meta.get("mapping", "auto"),
        bars=model.bars,
        time_signature=metre,
        n_steps=model.config.n_steps,
    )


def held_out_rolls(model: LoadedModel, metre: Metre, limit: int = 200) -> np.ndarray:
    """The first ``limit`` held-out windows in ``metre`` of ``model``'s data, as rolls in its
    pitch range (what the teacher-forced measuring scripts read)."""
    ws = metre_scan(model, metre).heldout_set
    return ws.render(np.arange(len(ws)), model.lowest_pitch, model.config.n_pitches)[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="+", default=["default"], help="checkpoints or names")
    parser.add_argument("--metre", default="3/4", help="the time signature, e.g. 3/4")
    parser.add_argument("--samples", type=int, default=200, help="windows per model")
    parser.add_argument("--seed", type=int, default=0, help="latents, draws and folds")
    parser.add_argument(
        "--alone",
        action="store_true",
        help="also each model's network alone: one pass, no rules, no refinement",
    )
    parser.add_argument(
        "--giveaways", type=int, default=3, help="the strongest tells listed per model"
    )
    args = parser.parse_args(argv)
    metre = parse_metre(args.metre)
    rows: list[tuple[str, dict[str, float], str]] = []
    held = None
    for name in args.model:
        model = load_generator(name)
        cfg = model.config
        spb = cfg.steps_per_beat
        bar = bar_steps(metre, spb)
        if held is None:
            scan = metre_scan(model, metre)
            pitches = (model.lowest_pitch, cfg.n_pitches)
            held, train = (
                ws.render(np.arange(len(ws)), *pitches) for ws in (scan.heldout_set, scan.train_set)
            )
            files = scan.heldout_set.file_index
            print(f"{args.metre}: {len(held)} held-out windows, {len(train)} training windows")
            score = c2st.feature_c2st(train, held, spb, args.seed, (None, files)).accuracy
            lengths = quality.note_length_profile(train, held, spb)["generated"]
            rows.append(
                (
                    "Bach (training windows)",
                    {
                        "feature C2ST": score,
                        **onset_places(train, bar, spb),
                        "notes >= 2 beats": lengths["long_note_share"],
                    },
                    "",
                )
            )
        if (model.lowest_pitch, cfg.n_pitches) != pitches:
            raise SystemExit(f"{name}: another pitch range than {args.model[0]}'s; run it alone")
        readings = [("", model.voicing)]
        if args.alone:
            alone = dataclasses.replace(
                model.voicing,
                refine_rounds=0,
                beat_rounds=0,
                rules=False,
                sixteenth_temperature=None,
            )
            readings.append((", network alone", alone))
        learnt = ", ".join(f"{a}/{b}" for a, b in model.trained_metres) or "?"
        for suffix, voicing in readings:
            roll = from_scratch(model, voicing, args.samples, args.seed, metre)
            score = c2st.feature_c2st(roll, held, spb, args.seed, (None, files)).accuracy
            lengths = quality.note_length_profile(roll, held, spb)["generated"]
            tells = "; ".join(
                f"{t['feature']} {t['mean_a']:.2f} / {t['mean_b']:.2f}"
                for t in c2st.feature_giveaways(roll, held, spb, args.giveaways)
            )
            rows.append(
                (
                    f"{name} ({learnt}){suffix}",
                    {
                        "feature C2ST": score,
                        **onset_places(roll, bar, spb),
                        "notes >= 2 beats": lengths["long_note_share"],
                    },
                    tells,
                )
            )
    columns = list(rows[0][1])
    print("| model (metres it learnt) | " + " | ".join(columns) + " | strongest tells |")
    print("|---" * (len(columns) + 2) + "|")
    for label, values, tells in rows:
        cells = " | ".join(f"{values[c]:.3f}" for c in columns)
        print(f"| {label} | {cells} | {tells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
