"""Four listening excerpts of the bundled model, for its model card.

Renders, with the app's built-in synthesizer (the chorale tracks use GM program 52,
"Choir Aahs"), one excerpt per task, all at seed 0 and temperature 0 (the settings
`pianola evaluate` measures; nothing is picked by ear):

1. ``1-generate``: a four-bar chorale from scratch.
2. ``2-harmonize``: the soprano of four bars of a held-out chorale, harmonised (alto,
   tenor, bass written by the model; the model never sees Bach's lower voices).
3. ``3-continue``: the same chorale's first two bars (all voices), continued for two.
4. ``4-infill``: the same four bars with bar 3 regenerated in all voices.

Each excerpt is saved as MIDI and as a 16-bit WAV next to it, and one PNG shows all
four as piano-rolls (the given material shaded). The script prints what it measured in
each excerpt (level, notes per voice, ranges, scale, voice leading), for the card:

    .venv/bin/python scripts/render_excerpts.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.audio.wav import export_wav, read_wav  # noqa: E402
from studio.core.midi_io import load_midi, save_midi  # noqa: E402
from studio.core.pianoroll import RollSpec, song_to_roll  # noqa: E402
from studio.core.song import Song, TempoChange, TimeSignature, Track  # noqa: E402
from studio.ml.metrics import SATB_RANGES, SCALES, voice_leading  # noqa: E402
from studio.ml.sample import LoadedModel, continue_, generate, harmonize, infill, load_generator  # noqa: E402
from studio.paths import bach_dataset_dir  # noqa: E402

OUT = ROOT / "models" / "training" / "excerpts"
PNG = ROOT / "models" / "training" / "bach-default-excerpts.png"
NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass
class Excerpt:
    name: str
    title: str
    song: Song
    given: list[tuple[int, int, int]]  # (track, start_tick, end_tick) the model was given


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def crop(song: Song, start: int, end: int, tracks: list[int] | None = None) -> Song:
    """Ticks [start, end) of the song, moved to tick 0; notes cut at ``end``."""
    ts = song.time_signature_at(start)
    out_tracks = []
    for k in tracks if tracks is not None else range(len(song.tracks)):
        t = song.tracks[k]
        notes = t.notes
        rows = np.nonzero((notes.start >= start) & (notes.start < end))[0]
        kept = notes.take(rows)
        kept = kept.replaced(
            start=kept.start - start,
            duration=np.minimum(kept.start + kept.duration, end) - kept.start,
        )
        out_tracks.append(Track(t.name, t.program, t.is_drum, t.colour, notes=kept))
    return Song(
        song.title,
        song.ticks_per_beat,
        [TempoChange(0, song.initial_bpm)],
        [TimeSignature(0, ts.numerator, ts.denominator)],
        out_tracks,
    )


def excerpts(model: LoadedModel, chorale: Song, first_bar: int, seed: int) -> list[Excerpt]:
    bar = chorale.ticks_per_bar(0)
    four = crop(chorale, first_bar * bar, (first_bar + 4) * bar)
    four.title = f"{chorale.title}, bars {first_bar + 1}-{first_bar + 4}"
    voices = range(4)
    scratch = generate(model, bars=4, seed=seed, tempo=four.initial_bpm)[0]
    soprano = crop(four, 0, 4 * bar, tracks=[0])
    harmonized = harmonize(model, soprano, keep_tracks={0: 0}, seed=seed)[0]
    primer = crop(four, 0, 2 * bar)
    continued = continue_(model, primer, bars=2, seed=seed)[0]
    infilled = infill(model, four, 2 * bar, 3 * bar, seed=seed)[0]
    return [
        Excerpt("0-bach", f"Bach's original: {four.title} (reference, not rendered)", four, []),
        Excerpt("1-generate", "From scratch (4 bars)", scratch, []),
        Excerpt(
            "2-harmonize", f"Harmonize: soprano of {four.title}", harmonized, [(0, 0, 4 * bar)]
        ),
        Excerpt(
            "3-continue",
            f"Continue: first 2 bars of {four.title}",
            continued,
            [(k, 0, 2 * bar) for k in voices],
        ),
        Excerpt(
            "4-infill",
            f"Infill bar 3 of {four.title}",
            infilled,
            [(k, 0, 2 * bar) for k in voices] + [(k, 3 * bar, 4 * bar) for k in voices],
        ),
    ]


def analyse(ex: Excerpt, wav: Path | None) -> dict[str, object]:
    """Numbers that say what the excerpt sounds like, without ears."""
    song = ex.song
    audio, rate = read_wav(wav) if wav else (np.zeros((0, 2), np.float32), 1)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if audio.size else 0.0
    seconds = float(song.tick_to_seconds(song.end_tick))
    spec = RollSpec(4, 0, 128)
    roll = song_to_roll(song, spec, list(range(len(song.tracks))))
    steps = roll.shape[1]
    voices = {}
    for k, t in enumerate(song.tracks):
        p = t.notes.pitch
        lo, hi = SATB_RANGES[k] if k < len(SATB_RANGES) else (0, 127)
        sounding = (roll[k] > 0).any(axis=-1)
        voices[t.name] = {
            "notes": len(t.notes),
            "range": f"{note_name(int(p.min()))}-{note_name(int(p.max()))}" if len(p) else "-",
            "in_voice_range": float(((p >= lo) & (p <= hi)).mean()) if len(p) else float("nan"),
            "sounding": float(sounding.mean()) if steps else 0.0,
            "mean_steps": float(t.notes.duration.mean() / (song.ticks_per_beat / 4))
            if len(p)
            else 0.0,
        }
    pcs = np.concatenate([t.notes.pitch % 12 for t in song.tracks]).astype(np.int64)
    hist = np.bincount(pcs, minlength=12)
    best = int((SCALES @ hist).argmax())
    key = f"{NOTE_NAMES[best % 12]} {'major' if best < 12 else 'minor'}"
    vl = voice_leading(roll[None], 0)
    # Vertical semitone clashes (minor 2nd / major 7th / minor 9th between any two voices):
    # rare in Bach outside suspensions, and what makes a wrong note stand out.
    top = [
        np.where((roll[k] > 0).any(axis=-1), (roll[k] > 0).argmax(axis=-1), -1)
        for k in range(len(song.tracks))
    ]
    clash = np.zeros(steps, bool)
    for a in range(len(top)):
        for b in range(a + 1, len(top)):
            both = (top[a] >= 0) & (top[b] >= 0)
            clash |= both & np.isin(np.abs(top[a] - top[b]) % 12, (1, 11))
    sounding_steps = np.zeros(steps, bool)
    for k in range(len(top)):
        sounding_steps |= top[k] >= 0
    level = (
        {
            "wav_seconds": round(len(audio) / rate, 2),
            "peak_dbfs": round(20 * np.log10(max(peak, 1e-9)), 1),
            "rms_dbfs": round(20 * np.log10(max(rms, 1e-9)), 1),
        }
        if wav
        else {}
    )
    return {
        "seconds": round(seconds, 2),
        **level,
        "notes_per_second": round(song.note_count / max(seconds, 1e-9), 2),
        "best_scale": key,
        "in_scale": round(float((SCALES[best] @ hist) / max(hist.sum(), 1)), 3),
        "voice_crossing_rate": round(vl["voice_crossing_rate"], 3),
        "parallel_rate": round(vl["parallel_rate"], 3),
        "clash_steps": round(float(clash.sum() / max(sounding_steps.sum(), 1)), 3),
        "voices": voices,
    }


def draw_rolls(items: list[Excerpt], out: Path) -> None:
    """All excerpts as piano-rolls in one PNG (QPainter on a QImage, offscreen)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen

    _app = QGuiApplication.instance() or QGuiApplication([])
    width, panel, top_pad, left = 1200, 260, 26, 48
    lo, hi = 36, 84
    image = QImage(width, panel * len(items), QImage.Format.Format_RGB32)
    image.fill(QColor("#fafafa"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPointSize(9)
    painter.setFont(font)
    for row, ex in enumerate(items):
        song = ex.song
        y0 = row * panel
        plot_h = panel - top_pad - 10
        end = max(song.end_tick, 1)
        bar = song.ticks_per_bar(0)
        end = int(np.ceil(end / bar) * bar)
        sx = (width - left - 10) / end
        sy = plot_h / (hi - lo + 1)

        def x(tick: float, sx: float = sx) -> float:
            return left + tick * sx

        def y(pitch: int, y0: int = y0, sy: float = sy) -> float:
            return y0 + top_pad + (hi - pitch) * sy

        painter.setPen(QColor("#222"))
        painter.drawText(QRectF(left, y0 + 4, width - left, 18), ex.title)
        for k, t in enumerate(song.tracks):  # legend, top right
            lx = width - 10 - 90 * (len(song.tracks) - k)
            painter.fillRect(QRectF(lx, y0 + 9, 14, 8), QColor(t.colour).darker(115))
            painter.setPen(QColor("#222"))
            painter.drawText(QRectF(lx + 18, y0 + 4, 70, 18), t.name)
        for track, t0, t1 in ex.given:
            shade = QColor(song.tracks[track].colour)
            shade.setAlpha(28)
            painter.fillRect(QRectF(x(t0), y(hi), x(t1) - x(t0), plot_h), shade)
        for c in range(lo, hi + 1):
            if c % 12 == 0:
                painter.setPen(QPen(QColor("#ccc"), 1))
                painter.drawLine(int(left), int(y(c - 1)), width - 10, int(y(c - 1)))
                painter.setPen(QColor("#666"))
                painter.drawText(QRectF(4, y(c) - 6, left - 8, 14), note_name(c))
        for b in range(0, end + 1, bar):
            painter.setPen(QPen(QColor("#999"), 1))
            painter.drawLine(int(x(b)), int(y(hi)), int(x(b)), int(y(lo - 1)))
        for t in song.tracks:
            colour = QColor(t.colour).darker(115)
            for n in t.notes:
                if not lo <= n.pitch <= hi:
                    continue
                rect = QRectF(x(n.start) + 1, y(n.pitch), max(2.0, n.duration * sx - 2), sy)
                painter.fillRect(rect, colour)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.png")
    if not image.save(str(tmp)):
        raise SystemExit(f"could not write {tmp}")
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--chorale", default="bwv244.10.mid", help="a held-out chorale")
    parser.add_argument("--first-bar", type=int, default=1, help="0-based bar to start at")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=int, default=22050, help="WAV sample rate")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--png", type=Path, default=PNG)
    args = parser.parse_args(argv)
    folder = Path(bach_dataset_dir())
    held_out = json.loads((folder / "split.json").read_text())["eval"]
    if args.chorale not in held_out:
        raise SystemExit(f"{args.chorale} is not a held-out chorale (see split.json)")
    model = load_generator(args.model)
    chorale = load_midi(folder / args.chorale)
    chorale.title = Path(args.chorale).stem.upper().replace("BWV", "BWV ")
    args.out.mkdir(parents=True, exist_ok=True)
    items = excerpts(model, chorale, args.first_bar, args.seed)
    report = {}
    for ex in items:
        ex.song.title = ex.title
        if ex.name == "0-bach":  # the reference: measured and drawn only
            report[ex.name] = analyse(ex, None)
            continue
        save_midi(ex.song, args.out / f"{ex.name}.mid")
        wav = args.out / f"{ex.name}.wav"
        export_wav(ex.song, wav, sample_rate=args.rate)
        report[ex.name] = analyse(ex, wav)
    draw_rolls(items, args.png)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
