"""Readings of one or more models compared on the same latents (the model card's *By beats*
ablation): feature (and optionally conv) C2ST against the held-out windows, and the line
statistics that gave the samples away.

    .venv/bin/python scripts/reading_ablation.py --model bach-small --reading 1:0 1:1 0:1
    .venv/bin/python scripts/reading_ablation.py --model bach-lines --reading own --conv

A reading is ``R:B`` (whole-voice rounds, rounds by beats), ``R:B:T`` (beat passes drawn at
temperature T), ``R:B:T:d`` (and their beat steps' hold or move drawn from the network's
masses, ``VoiceDecoding.drawn_beat_moves``) or ``own`` (what the model's file names). A
reading other than ``own`` keeps the model's other settings (e.g. its
``offbeat_repeats``); ``--set FIELD=VALUE`` changes any of them for every reading.
Each row: passes per window, the two C2STs (conv with classifier seeds 0 and 1 on the one
sample), the soprano's and bass's mean interval, the soprano's leaps, the alto's repeats,
notes of two beats or more.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.ml import c2st, engine_eval, quality
from studio.ml.metre import Metre
from studio.ml.sample import LoadedModel, _latents, load_generator, run_windows
from studio.ml.voicing import VoiceDecoding

SHOWN = (
    ("S: mean interval (semitones)", "S interval"),
    ("S: share of leaps > 4 semitones", "S leaps"),
    ("B: mean interval (semitones)", "B interval"),
    ("A: share of repeated notes", "A repeats"),
)


def reading(own: VoiceDecoding, text: str) -> VoiceDecoding:
    if text == "own":
        return own
    parts = text.split(":")
    if len(parts) not in (2, 3, 4) or (len(parts) == 4 and parts[3] != "d"):
        raise SystemExit(f"--reading {text!r}: use R:B, R:B:T, R:B:T:d or own")
    temperature = float(parts[2]) if len(parts) >= 3 else None
    return dataclasses.replace(
        own,
        refine_rounds=int(parts[0]),
        beat_rounds=int(parts[1]),
        beat_temperature=temperature,
        drawn_beat_moves=len(parts) == 4,
    )


def field_override(text: str) -> tuple[str, float | bool | None]:
    """``FIELD=VALUE`` of `VoiceDecoding`: a number, true/false, or none (e.g.
    ``sixteenth_temperature=none``: no sixteenths pass)."""
    name, _, value = text.partition("=")
    if name not in {f.name for f in dataclasses.fields(VoiceDecoding)} or not value:
        raise SystemExit(f"--set {text!r}: use FIELD=VALUE with a VoiceDecoding field")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    if value.lower() == "none":
        return name, None
    number = float(value)
    return name, int(number) if number.is_integer() and "." not in value else number


def from_scratch(
    model: LoadedModel,
    voicing: VoiceDecoding,
    samples: int,
    seed: int,
    metre: Metre | None = None,
    cadence_every: int | None = None,
) -> np.ndarray:
    """``samples`` windows written from nothing with ``voicing`` (in ``metre``; None: the
    model's own bar; ``cadence_every`` as `run_windows` takes it), seeded as every
    measuring script seeds them (the same latents and draws for the same seed)."""
    cfg = model.config
    empty = np.zeros((samples, cfg.n_tracks, cfg.n_steps, cfg.n_pitches), np.int8)
    blank = np.zeros(empty.shape[:3], bool)
    z = _latents(model, samples, seed)
    with torch.no_grad():
        return run_windows(
            model,
            empty,
            blank,
            z,
            0.0,
            0.5,
            seed,
            voicing=voicing,
            metre=metre,
            cadence_every=cadence_every,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="checkpoint, run folder or bundled name")
    parser.add_argument("--reading", nargs="+", default=["own"], help="R:B, R:B:T, R:B:T:d or own")
    parser.add_argument("--samples", type=int, default=300, help="windows from scratch")
    parser.add_argument("--seed", type=int, default=0, help="latents and sampling seed")
    parser.add_argument("--conv", action="store_true", help="also the conv C2ST (minutes)")
    parser.add_argument(
        "--cadence-every",
        type=int,
        default=None,
        help="a phrase-conditioned model's plan: bars between cadences (0: no plan; default: "
        "the model's default plan)",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="other VoiceDecoding fields for every reading, e.g. repeat_penalty=0.15",
    )
    parser.add_argument(
        "--giveaways", type=int, default=0, help="also list each reading's N strongest tells"
    )
    args = parser.parse_args(argv)
    overrides = dict(field_override(text) for text in args.set)
    model = load_generator(args.model)
    cfg = model.config
    sets = engine_eval.window_sets(model, 1500, 0)
    held, groups = sets["held"], (None, sets["held_files"])
    spb = cfg.steps_per_beat
    print(
        "| reading | passes / window | feature C2ST | conv C2ST | "
        + " | ".join(label for _, label in SHOWN)
        + " | sixteenths | notes >= 2 beats | seconds |"
    )
    print("|---" * (7 + len(SHOWN)) + "|")
    for text in args.reading:
        voicing = dataclasses.replace(reading(model.voicing, text), **overrides)
        t0 = time.perf_counter()
        roll = from_scratch(
            model, voicing, args.samples, args.seed, cadence_every=args.cadence_every
        )
        seconds = time.perf_counter() - t0
        feature = c2st.feature_c2st(roll, held, spb, 0, groups).accuracy
        conv = (
            " / ".join(f"{c2st.conv_c2st(roll, held, s, groups).accuracy:.3f}" for s in (0, 1))
            if args.conv
            else "-"
        )
        means = {r["feature"]: r["mean_a"] for r in c2st.feature_giveaways(roll, held, spb, 999)}
        lengths = quality.note_length_profile(roll, held, spb)["generated"]
        long, short = lengths["long_note_share"], lengths["sixteenth_share"]
        shown = " | ".join(f"{means[name]:.2f}" for name, _ in SHOWN)
        passes = 1 + cfg.n_tracks * voicing.passes_per_voice
        passes += voicing.sixteenth_temperature is not None
        row = [
            text,
            str(passes),
            f"{feature:.3f}",
            conv,
            shown,
            f"{short:.3f}",
            f"{long:.3f}",
            f"{seconds:.0f}",
        ]
        print("| " + " | ".join(row) + " |", flush=True)
        for tell in c2st.feature_giveaways(roll, held, spb, args.giveaways)[: args.giveaways]:
            print(
                f"    {tell['feature']}: AUC {tell['auc']:.2f}, generated "
                f"{tell['mean_a']:.3f}, Bach {tell['mean_b']:.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
