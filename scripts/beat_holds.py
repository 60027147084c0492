"""How often a voice holds its note across a beat: the network's own figure, the decoded
music's and Bach's (the model card's *What holds the inner voices*).

    .venv/bin/python scripts/beat_holds.py --model bach-lines

In every beat pass of the model's reading (a voice's odd or even beats hidden, all else
given), at the first step of each hidden beat whose voice sounded just before:

* network: the probability that the note sounding before goes on without a new onset,
  ``frame - onset`` of that pitch (the onset plane is trained as a joint probability);
* decoded: the share of those steps where the reading held the note;
* real contexts: the same network figure with held-out chorales as the given music,
  next to how often Bach held there.

The per-pitch sigmoids are not a distribution over pitches (their sum over the rows of a
voice is 1.3-2.5 where one pitch sounds), so the network's figure is a reading of its
outputs, not a calibrated probability; the decoded and Bach columns are counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.core.pianoroll import ONSET
from studio.ml import engine_eval
from studio.ml.metrics import top_pitch
from studio.ml.sample import (
    _conditions,
    _latents,
    _write_pass,
    load_generator,
    planes_from_roll,
    refinement_masks,
)


def hidden_beat_starts(mask: np.ndarray, track: int, beat: int) -> list[int]:
    """Steps opening a hidden beat of ``track`` right after a given step."""
    steps = mask.shape[2]
    return [s for s in range(beat, steps, beat) if not mask[0, track, s] and mask[0, track, s - 1]]


def network_holds(logits: torch.Tensor, tops: np.ndarray, track: int, steps: list[int]) -> list:
    """``frame - onset`` of the pitch sounding before each step, where one sounded."""
    t = logits.shape[1] // 2
    frame = torch.sigmoid(logits[:, track]).numpy()
    onset = torch.sigmoid(logits[:, t + track]).numpy()
    rows = np.arange(len(tops))
    out: list[float] = []
    for s in steps:
        before = tops[:, s - 1]
        pitch = np.maximum(before, 0)
        hold = np.clip(frame[rows, s, pitch] - onset[rows, s, pitch], 0.0, 1.0)
        out += list(hold[before >= 0])
    return out


def held_there(roll: np.ndarray, track: int, steps: list[int]) -> list:
    """Whether the note sounding before each step goes on there (no new onset)."""
    tops = top_pitch(roll[:, track : track + 1])[:, 0]
    onsets = (roll[:, track] == ONSET).any(axis=-1)
    out: list[bool] = []
    for s in steps:
        sounded = tops[:, s - 1] >= 0
        out += list(((tops[:, s] == tops[:, s - 1]) & ~onsets[:, s])[sounded])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="bach-lines", help="checkpoint, run folder or name")
    parser.add_argument("--samples", type=int, default=200, help="windows from scratch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = load_generator(args.model)
    reading = model.voicing
    if reading.beat_rounds == 0:  # a model that names none is read as bach-lines is
        reading = dataclasses.replace(reading, refine_rounds=1, beat_rounds=1, beat_temperature=0.7)
    cfg = model.config
    n, w, beat = args.samples, cfg.n_steps, cfg.steps_per_beat
    z = _latents(model, n, args.seed)
    cond = _conditions(model, n, None, None)
    window = np.zeros((n, cfg.n_tracks, w, cfg.n_pitches), np.int8)
    blank = np.zeros((n, cfg.n_tracks, w), bool)
    whole = refinement_masks(blank, reading.refine_rounds)
    beats = refinement_masks(blank, 0, reading.beat_rounds, beat)
    noise = torch.Generator().manual_seed(args.seed + 1)
    own: dict[int, list] = {k: [] for k in range(cfg.n_tracks)}
    decoded: dict[int, list] = {k: [] for k in range(cfg.n_tracks)}
    with torch.no_grad():
        for index, mask in enumerate([blank, *whole, *beats]):
            m = torch.from_numpy(mask).float()
            logits = model.generator(z, planes_from_roll(window), m, **cond).float()
            in_beats = index > len(whole)
            track = int(np.flatnonzero(~mask.all(axis=(0, 2)))[0])
            steps = hidden_beat_starts(mask, track, beat) if in_beats else []
            if in_beats:
                own[track] += network_holds(logits, top_pitch(window)[:, track], track, steps)
            temperature = (reading.beat_temperature or 0.0) if in_beats else 0.0
            _write_pass(model, logits, window, mask, temperature, 0.5, noise, reading)
            if in_beats:
                decoded[track] += held_there(window, track, steps)
        held = engine_eval.window_sets(model, 1500, 0)["held"][:n]
        on_real: dict[int, list] = {k: [] for k in range(cfg.n_tracks)}
        bach: dict[int, list] = {k: [] for k in range(cfg.n_tracks)}
        real_z = _latents(model, len(held), args.seed)
        real_cond = _conditions(model, len(held), None, None)
        tops = top_pitch(held)
        for mask in refinement_masks(np.zeros(held.shape[:3], bool), 0, 1, beat):
            track = int(np.flatnonzero(~mask.all(axis=(0, 2)))[0])
            steps = hidden_beat_starts(mask, track, beat)
            m = torch.from_numpy(mask).float()
            logits = model.generator(real_z, planes_from_roll(held), m, **real_cond).float()
            on_real[track] += network_holds(logits, tops[:, track], track, steps)
            bach[track] += held_there(held, track, steps)
    names = [t["name"] for t in model.templates]
    print("| voice | network, own music | decoded | network, Bach's music | Bach |")
    print("|---|---:|---:|---:|---:|")
    for k in range(cfg.n_tracks):
        cells = [np.mean(x[k]) if x[k] else float("nan") for x in (own, decoded, on_real, bach)]
        print(f"| {names[k]} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
