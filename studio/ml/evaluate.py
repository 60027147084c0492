"""``pianola evaluate``: a model's samples measured next to the data it should imitate.

Reference windows are the held-out part of the data (``split.json``) when there is one,
else the training windows. For four-part (Bach) models two conditional tasks are also
measured on those windows: harmonisation (soprano given -> alto, tenor, bass) and
continuation (first half given -> second half).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from studio.ml import quality
from studio.ml.data import DatasetScan, scan_dataset
from studio.ml.errors import DatasetError
from studio.ml.generation import SamplingOptions, reading
from studio.ml.metrics import compare, evaluate_rolls, format_table, voice_leading
from studio.ml.sample import LoadedModel, _latents, generate_rolls, load_generator, run_windows
from studio.ml.voicing import VoiceDecoding


def model_scan(model: LoadedModel, data: str | None = None) -> tuple[DatasetScan, str]:
    """The windows of the data a model learnt from (or ``data``), cut as it saw them:
    its metre and window length. Returns the scan and the data's name."""
    meta = model.meta.get("data", {})
    source = data or meta.get("summary", {}).get("source")
    if not source:
        raise DatasetError("the model does not say which data it was trained on; pass --data")
    cfg = model.config
    scan = scan_dataset(
        source,
        mapping=meta.get("mapping", "auto"),
        bars=model.bars,
        time_signature=tuple(model.time_signature),
        n_steps=cfg.n_steps,
    )
    if scan.train_set is None or scan.train_set.n_tracks != cfg.n_tracks:
        raise DatasetError(
            f"{source} maps to {len(scan.tracks)} tracks; the model has {cfg.n_tracks}"
        )
    return scan, str(source)


def reference_rolls(
    model: LoadedModel, data: str | None, limit: int = 2048
) -> tuple[np.ndarray, str]:
    cfg = model.config
    scan, source = model_scan(model, data)
    windows = (
        scan.heldout_set
        if scan.heldout_set is not None and len(scan.heldout_set)
        else (scan.train_set)
    )
    part = "held-out" if windows is scan.heldout_set else "training"
    n = min(len(windows), limit)
    idx = np.linspace(0, len(windows) - 1, n).astype(np.int64)
    return windows.render(idx, model.lowest_pitch, cfg.n_pitches), f"{source} ({part}, {n} windows)"


@torch.no_grad()
def conditional_tasks(
    model: LoadedModel,
    ref: np.ndarray,
    seed: int,
    temperature: float,
    min_note_steps: int,
    limit: int = 256,
    threshold: float = 0.5,
) -> dict[str, Any]:
    cfg = model.config
    ref = ref[:limit]
    n = len(ref)
    z = _latents(model, n, seed)
    out: dict[str, Any] = {}
    # Harmonize: the soprano given for the whole window.
    mask = np.zeros((n, cfg.n_tracks, cfg.n_steps), bool)
    mask[:, 0] = True
    given = np.where(mask[..., None], ref, 0).astype(np.int8)
    harm = run_windows(model, given, mask, z, temperature, threshold, seed, min_note_steps)
    out["harmonize"] = {
        "generated": voice_leading(harm, model.lowest_pitch),
        "reference": voice_leading(ref, model.lowest_pitch),
        "melody_kept": bool(np.array_equal(harm[:, 0], ref[:, 0])),
    }
    # Continue: the first half given, the second half generated.
    half = (cfg.n_steps // cfg.steps_per_bar // 2) * cfg.steps_per_bar
    mask = np.zeros((n, cfg.n_tracks, cfg.n_steps), bool)
    mask[:, :, :half] = True
    given = np.where(mask[..., None], ref, 0).astype(np.int8)
    cont = run_windows(model, given, mask, z, temperature, threshold, seed, min_note_steps)
    gen_tail = evaluate_rolls(cont[:, :, half:], cfg.steps_per_bar, model.lowest_pitch, "bach")
    ref_tail = evaluate_rolls(ref[:, :, half:], cfg.steps_per_bar, model.lowest_pitch, "bach")
    out["continue"] = {
        "generated": {
            "scale_consistency": gen_tail["scale_consistency"],
            "key_agreement": _key_agreement(cont, half, model.lowest_pitch),
        },
        "reference": {
            "scale_consistency": ref_tail["scale_consistency"],
            "key_agreement": _key_agreement(ref, half, model.lowest_pitch),
        },
    }
    return out


def _key_agreement(rolls: np.ndarray, half: int, lowest_pitch: int) -> float:
    """Share of the second half's notes inside the best scale of the first half."""
    from studio.ml.metrics import SCALES, note_table

    sample, _t, pitch, start, _l = note_table(rolls)
    pcs = (pitch + lowest_pitch) % 12
    rates = []
    for k in range(len(rolls)):
        head = pcs[(sample == k) & (start < half)]
        tail = pcs[(sample == k) & (start >= half)]
        if len(head) and len(tail):
            scale = SCALES[int((SCALES @ np.bincount(head, minlength=12)).argmax())]
            rates.append(float(scale[tail].mean()))
    return float(np.mean(rates)) if rates else math.nan


@dataclass(frozen=True)
class GeneratedWindows:
    """The windows an evaluation generated and how, so a second measure can reuse them."""

    seed: int
    sampling: SamplingOptions
    voicing: VoiceDecoding
    rolls: np.ndarray

    def made_with(self, voicing: VoiceDecoding, samples: int, seed: int) -> bool:
        """Whether these are the windows ``generate_rolls(model, samples, seed)`` gives
        with ``voicing`` and the default threshold, temperature and note filter."""
        plain = SamplingOptions()
        return (
            self.voicing == voicing
            and self.seed == seed
            and len(self.rolls) == samples
            and (self.sampling.temperature, self.sampling.threshold, self.sampling.min_note_steps)
            == (plain.temperature, plain.threshold, plain.min_note_steps)
        )


def evaluate_model(
    model_source: str,
    data: str | None = None,
    samples: int = 500,
    seed: int = 0,
    sampling: SamplingOptions | None = None,
    keep_rolls: bool = False,
) -> dict[str, Any]:
    """Metrics of ``samples`` windows made from scratch (and of the conditional tasks)
    next to the reference data's, decoded with ``sampling`` (default: the defaults).
    ``keep_rolls``: the report's ``"windows"`` holds the generated windows
    (`GeneratedWindows`, not JSON)."""
    sampling = sampling or SamplingOptions()
    temperature, threshold = sampling.temperature, sampling.threshold
    min_note_steps = sampling.min_note_steps
    model = load_generator(model_source)
    model.voicing = reading(sampling, model)
    ref, described = reference_rolls(model, data)
    gen = generate_rolls(model, samples, seed, temperature, threshold, min_note_steps)
    cfg = model.config
    mapping = model.meta.get("data", {}).get("mapping", "")
    result = compare(gen, ref, cfg.steps_per_bar, model.lowest_pitch, mapping)
    # Short notes and rests that are a decoding's flicker rather than music (see
    # `quality.length_shares`): shown in every evaluation, not only with --c2st.
    for side, rolls in (("generated", gen), ("reference", ref)):
        shares = quality.length_shares(rolls, cfg.steps_per_beat)
        for key in ("passing_sixteenth_share", "short_rests_per_note"):
            result[side][key] = shares[key]
    report: dict[str, Any] = {
        "model": model.path,
        "reference": described,
        "samples": samples,
        "decoding": {
            "temperature": temperature,
            "threshold": threshold,
            "min_note_steps": min_note_steps,
            **dataclasses.asdict(model.voicing),
        },
        "generated": result["generated"],
        "reference_metrics": result["reference"],
        "distances": result["distances"],
    }
    if keep_rolls:
        report["windows"] = GeneratedWindows(seed, sampling, model.voicing, gen)
    if mapping == "bach":
        report["tasks"] = conditional_tasks(
            model, ref, seed, temperature, min_note_steps, threshold=threshold
        )
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"model      {report['model']}",
        f"reference  {report['reference']}",
        f"generated  {report['samples']} samples",
        "decoding   " + ", ".join(f"{k} {v}" for k, v in report.get("decoding", {}).items()),
        "",
    ]
    lines.append(
        format_table(
            {
                "generated": report["generated"],
                "reference": report["reference_metrics"],
                "distances": report["distances"],
            }
        )
    )
    for task, values in report.get("tasks", {}).items():
        lines.append("")
        lines.append(f"{task}:")
        for key, g in values["generated"].items():
            r = values["reference"][key]
            lines.append(f"  {key:<26}{g:>12.4f}{r:>12.4f}")
        if "melody_kept" in values:
            lines.append(f"  {'melody kept exactly':<26}{values['melody_kept']!s:>12}")
    return "\n".join(lines)
