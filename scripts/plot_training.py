"""Training curves of the bundled model as one PNG, for its model card.

Reads the run's per-step log (``metrics.jsonl``: one ``step`` row per step and a
``metrics`` row at each metrics interval) and, optionally, a ``pianola evaluate --json``
report of the finished model. Draws each loss raw (faint) and smoothed (exponential
moving average), and the headline sample metrics as signed deviations from the
held-out chorales in units of the issue's tolerance. Plots with pyqtgraph offscreen, so
no plotting package beyond the app's own dependencies is needed:

    .venv/bin/python scripts/plot_training.py
    .venv/bin/python scripts/plot_training.py --log RUN/metrics.jsonl --out curves.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "models" / "training"
HEADLINE = (
    ("empty_bar_rate", "empty bars"),
    ("pitch_classes_per_bar", "PCs/bar"),
    ("qualified_note_rate", "qualified"),
    ("polyphony", "polyphony"),
    ("scale_consistency", "in scale"),
)
RAW_PEN = (150, 150, 150, 90)
COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00")


def read_log(path: Path) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Per-step columns and the list of in-training metrics reports."""
    steps: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        (steps if row.get("type") == "step" else reports).append(row)
    if not steps:
        raise SystemExit(f"{path}: no step rows to plot")
    keys = [k for k, v in steps[0].items() if isinstance(v, (int, float)) and k != "type"]
    columns = {k: np.array([r.get(k, np.nan) for r in steps], dtype=np.float64) for k in keys}
    return columns, [r for r in reports if r.get("type") == "metrics"]


def ema(values: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average, started at the first value (no zero-bias)."""
    alpha = 2.0 / (span + 1.0)
    out = np.empty_like(values)
    acc = values[0]
    for k, v in enumerate(values):
        acc = alpha * v + (1 - alpha) * acc
        out[k] = acc
    return out


def derived_other_terms(cols: dict[str, np.ndarray], train: dict[str, Any]) -> np.ndarray:
    """G's loss minus its adversarial and reconstruction parts: the per-voice pitch
    cross-entropy plus feature matching (the log does not record them separately)."""
    steps = cols["step"]
    ramp_steps = max(1.0, min(train.get("adv_warmup", 500), 0.2 * train.get("steps", len(steps))))
    ramp = np.minimum(1.0, steps / ramp_steps)  # logged step = trainer's step + 1
    return cols["g_loss"] - ramp * cols["adv"] - train.get("recon_weight", 10.0) * cols["recon"]


def train_config(checkpoint: Path | None) -> dict[str, Any]:
    if checkpoint is None or not checkpoint.is_file():
        return {}
    sys.path.insert(0, str(ROOT))
    from studio.ml.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint)[1].get("train_config", {})


def tolerance(reference: float) -> float:
    """The issue's allowed deviation: 10% relative, 0.02 absolute for rates below 0.2."""
    return 0.02 if reference < 0.2 else 0.1 * reference


def deviation_rows(
    reports: list[dict[str, Any]], evaluation: dict[str, Any] | None
) -> list[tuple[str, dict[str, float]]]:
    """(label, {metric: signed deviation from held-out Bach in tolerance units}) for each
    in-training report and the final evaluation; |value| <= 1 meets the target."""
    if not evaluation:
        return []
    ref = evaluation["reference_metrics"]

    def devs(values: dict[str, Any]) -> dict[str, float]:
        return {k: (values[k] - ref[k]) / tolerance(ref[k]) for k, _ in HEADLINE}

    rows = [(f"step {r['step']} (training check, 64 samples)", devs(r)) for r in reports]
    rows.append(
        (
            f"step {evaluation.get('step', 'final')}: evaluate, {evaluation['samples']} samples",
            devs(evaluation["generated"]),
        )
    )
    return rows


def plot(
    cols: dict[str, np.ndarray],
    reports: list[dict[str, Any]],
    evaluation: dict[str, Any] | None,
    train: dict[str, Any],
    out: Path,
    span: int,
) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    import pyqtgraph.exporters  # registers the exporters
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    win = pg.GraphicsLayoutWidget()
    win.resize(1400, 1000)
    title = (
        f"bach-default: {train.get('loss', '?')}, recon weight {train.get('recon_weight', '?')}, "
        f"batch {train.get('batch_size', '?')}, {int(cols['step'][-1])} steps "
        f"(faint: every step; line: EMA span {span})"
    )
    win.addLabel(title, row=0, col=0, colspan=2, size="12pt")
    steps = cols["step"]
    panels = [
        ("critic loss (WGAN-GP, incl. 10×GP)", cols["d_loss"], None),
        ("generator adversarial term", cols["adv"], None),
        ("reconstruction BCE on hidden cells", cols["recon"], None),
        (
            "pitch cross-entropy + feature matching (derived)",
            derived_other_terms(cols, train),
            None,
        ),
        ("gradient penalty (‖∇D‖−1)²", cols["gp"], "log"),
    ]
    font = QFont()
    font.setPointSize(9)
    for k, (name, values, scale) in enumerate(panels):
        p = win.addPlot(row=1 + k // 2, col=k % 2, title=name)
        p.showGrid(x=True, y=True, alpha=0.25)
        p.setLabel("bottom", "step")
        positive = values > 0
        if scale == "log":
            p.setLogMode(y=True)
            values = np.where(positive, values, np.nan)
        p.plot(steps, values, pen=pg.mkPen(RAW_PEN, width=1), connect="finite")
        smooth = ema(np.nan_to_num(values, nan=np.nanmedian(values)), span)
        p.plot(steps, smooth, pen=pg.mkPen(COLOURS[k], width=2.5))
        lo, hi = np.nanpercentile(values, [1, 99])
        if scale != "log":
            pad = 0.08 * (hi - lo or 1.0)
            p.setYRange(lo - pad, hi + pad, padding=0)
        p.setXRange(0, steps[-1], padding=0.01)
        for axis in ("left", "bottom"):
            p.getAxis(axis).setTickFont(font)
    _deviation_panel(win, reports, evaluation, font)
    win.show()
    app.processEvents()
    exporter = pg.exporters.ImageExporter(win.scene())
    exporter.parameters()["width"] = 1400
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.png")
    exporter.export(str(tmp))
    os.replace(tmp, out)
    win.close()


def _deviation_panel(win: Any, reports: list[dict[str, Any]], evaluation: Any, font: Any) -> None:
    import pyqtgraph as pg

    p = win.addPlot(
        row=3, col=1, title="samples − held-out Bach, in units of the allowed tolerance (band: met)"
    )
    p.showGrid(y=True, alpha=0.25)
    rows = deviation_rows(reports, evaluation)
    n = len(HEADLINE)
    band = pg.LinearRegionItem(
        (-1.0, 1.0), orientation="horizontal", movable=False, brush=(46, 125, 50, 40)
    )
    p.addItem(band)
    p.addLine(y=0.0, pen=pg.mkPen("#2e7d32", width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
    width = 0.8 / max(1, len(rows))
    legend = p.addLegend(offset=(-10, 10))
    for j, (label, devs) in enumerate(rows):
        xs = np.arange(n) - 0.4 + width * (j + 0.5)
        heights = [devs[k] for k, _ in HEADLINE]
        colour = "#1565c0" if j == len(rows) - 1 else "#90a4ae"
        bars = pg.BarGraphItem(x=xs, height=heights, width=width * 0.9, brush=colour)
        p.addItem(bars)
        legend.addItem(bars, label)
    p.getAxis("bottom").setTicks([[(k, name) for k, (_, name) in enumerate(HEADLINE)]])
    top = max([4.0] + [abs(v) for _, d in rows for v in d.values() if np.isfinite(v)])
    p.setYRange(-top * 1.1, top * 1.1, padding=0)
    p.setXRange(-0.6, n - 0.4, padding=0)
    for axis in ("left", "bottom"):
        p.getAxis(axis).setTickFont(font)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=TRAINING / "bach-default.metrics.jsonl")
    parser.add_argument("--eval", type=Path, default=TRAINING / "bach-default.eval.json")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "bach-default.pt")
    parser.add_argument("--out", type=Path, default=TRAINING / "bach-default-curves.png")
    parser.add_argument("--span", type=int, default=50, help="EMA span in steps")
    args = parser.parse_args(argv)
    cols, reports = read_log(args.log)
    evaluation = json.loads(args.eval.read_text()) if args.eval.is_file() else None
    plot(cols, reports, evaluation, train_config(args.checkpoint), args.out, args.span)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
