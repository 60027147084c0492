"""Rank trained runs by how close their samples are to the held-out chorales.

Reads ``pianola evaluate --json`` reports and scores each run by the issue's quality
targets: five headline metrics within 10% (relative; 0.02 absolute for rates below 0.2)
of the held-out data, plus the harmonisation voice-leading checks. Prints a table and
the name of the best run: ``python scripts/score_runs.py A.eval.json B.eval.json``.
``--markdown`` prints the measured values instead, one row per report, each marked met
(✓) or not (✗): the model card's tables come from it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HEADLINE = (
    "empty_bar_rate",
    "pitch_classes_per_bar",
    "qualified_note_rate",
    "polyphony",
    "scale_consistency",
)


def deviation(generated: float, reference: float) -> float:
    """Deviation in units of the allowed tolerance (<= 1 meets the target)."""
    if any(map(math.isnan, (generated, reference))):
        return math.inf
    if reference < 0.2:
        return abs(generated - reference) / 0.02
    return abs(generated - reference) / (0.1 * reference)


def score(report: dict) -> tuple[float, dict[str, float]]:
    devs = {k: deviation(report["generated"][k], report["reference_metrics"][k]) for k in HEADLINE}
    harm = report.get("tasks", {}).get("harmonize")
    if harm:
        g, r = harm["generated"], harm["reference"]
        devs["voice_range"] = (
            max(0.0, (0.95 - g["voice_range_rate"]) / 0.05)
            if not math.isnan(g["voice_range_rate"])
            else math.inf
        )
        for k in ("voice_crossing_rate", "parallel_rate"):
            devs[k] = g[k] / (2 * r[k]) if r[k] > 0 else (0.0 if g[k] == 0 else math.inf)
    cont = report.get("tasks", {}).get("continue")
    if cont:
        devs["continue_scale"] = deviation(
            cont["generated"]["scale_consistency"], cont["reference"]["scale_consistency"]
        )
    # The worst target decides; the mean breaks ties between runs that meet all.
    worst = max(devs.values())
    return worst + 0.01 * sum(devs.values()) / len(devs), devs


def markdown_row(name: str, report: dict) -> str:
    _, devs = score(report)
    g = report["generated"]
    tasks = report.get("tasks", {})
    values = [g[k] for k in HEADLINE]
    if "harmonize" in tasks:
        h = tasks["harmonize"]["generated"]
        values += [h["voice_range_rate"], h["voice_crossing_rate"], h["parallel_rate"]]
    if "continue" in tasks:
        values.append(tasks["continue"]["generated"]["scale_consistency"])
    marks = ["✓" if d <= 1 else "✗" for d in devs.values()]
    pairs = zip(values, marks, strict=True)
    cells = [f"{v:.4f} {m}" if v < 0.2 else f"{v:.3f} {m}" for v, m in pairs]
    met = sum(m == "✓" for m in marks)
    return f"| {name} | " + " | ".join(cells) + f" | {met}/{len(marks)} |"


MARKDOWN_HEADER = (
    "| decoding | empty bars | pitch classes/bar | qualified notes | polyphony | scale "
    "| harm. range | harm. crossings | harm. parallels | cont. scale | met |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def main(paths: list[str]) -> int:
    if paths and paths[0] == "--markdown":
        print(MARKDOWN_HEADER)
        for p in paths[1:]:
            print(markdown_row(Path(p).name.removesuffix(".json"), json.loads(Path(p).read_text())))
        return 0
    rows = []
    for p in paths:
        try:
            report = json.loads(Path(p).read_text())
        except (OSError, ValueError) as exc:
            print(f"{p}: unreadable ({exc})", file=sys.stderr)
            continue
        total, devs = score(report)
        rows.append((total, Path(p).name.split(".")[0], devs))
    rows.sort(key=lambda r: r[0])
    for total, name, devs in rows:
        cells = " ".join(f"{k}={v:.2f}" for k, v in devs.items())
        print(f"{name:<8} score={total:.3f}  {cells}")
    if rows:
        print(f"BEST {rows[0][1]}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
