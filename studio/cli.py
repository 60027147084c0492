"""The ``pianola`` command line (same as ``python -m studio``).

``pianola`` alone (or ``pianola gui [FILE]``) opens the desktop app; the subcommands
train, generate, harmonize, continue and evaluate run the engine headless. Qt is only
imported for the GUI. Exit status: 0 success, 2 usage error, 1 any other error (one
line on stderr; the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments detected after parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with a one-line message, like argparse
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _bounded(kind: type, allow_zero: bool):
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"must be {'>=' if allow_zero else '>'} 0, got {text}")
        return value

    return parse


def _positive(kind: type = int):
    return _bounded(kind, allow_zero=False)


_non_negative_float = _bounded(float, allow_zero=True)
_non_negative_int = _bounded(int, allow_zero=True)


REFINE_ROUNDS = 2  # studio.ml.voicing.VoiceDecoding's default; torch is not imported here


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pianola", description="Pianola: train a GAN on MIDI, generate, edit.")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("file", nargs="?", help="a .mid or project file to open")

    t = sub.add_parser("train", help="train a model on a folder of MIDI or bach-chorales")
    t.add_argument("--data", required=True, help="folder of MIDI files, or bach-chorales")
    t.add_argument("--out", required=True, help="run folder for checkpoints and logs")
    t.add_argument("--steps", type=_positive(), default=2000)
    t.add_argument("--batch-size", type=_positive(), default=32, help="per process")
    t.add_argument("--preset", choices=("tiny", "default"), default="default")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] | mps")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    t.add_argument("--dry-run", action="store_true", help="print parameters and FLOPs, then exit")
    t.add_argument(
        "--mapping",
        choices=("auto", "bach", "musegan", "piano"),
        default="auto",
        help="track layout: auto, bach (SATB), musegan (5 families), piano (merged)",
    )
    t.add_argument("--bars", type=_positive(), default=4, help="bars per training window")
    t.add_argument("--lr-g", type=_positive(float), default=2e-4)
    t.add_argument("--lr-d", type=_positive(float), default=2e-4)
    t.add_argument("--loss", choices=("hinge", "wgan-gp"), default="hinge")
    t.add_argument("--recon-weight", type=_non_negative_float, default=10.0)
    t.add_argument("--adv-weight", type=_non_negative_float, default=1.0)
    t.add_argument("--checkpoint-every", type=int, default=500)
    t.add_argument("--metrics-every", type=int, default=500)
    t.add_argument("--keep-last", type=_positive(), default=3)
    t.add_argument(
        "--minutes",
        type=_non_negative_float,
        default=0.0,
        help="stop and save after this much training time (0: run all steps)",
    )
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    t.add_argument("--cache-dir", default=None, help="dataset cache folder")
    t.add_argument("--log-every", type=_positive(), default=50, help="print every N steps")

    def voicing_args(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--refine",
            type=_non_negative_int,
            default=REFINE_ROUNDS,
            help="rounds in which each voice is redrawn given the others (0: one pass)",
        )
        q.add_argument(
            "--free-voicing",
            action="store_true",
            help="let voices move in parallel fifths/octaves and cross",
        )

    def model_args(q: argparse.ArgumentParser, variations: int = 4) -> None:
        q.add_argument("--model", default="default", help="checkpoint, run folder or default")
        q.add_argument("--variations", type=_positive(), default=variations)
        q.add_argument("--seed", type=int, default=0)
        q.add_argument(
            "--temperature",
            type=_non_negative_float,
            default=0.0,
            help="0: hard threshold; > 0: Bernoulli sampling at this temperature",
        )
        q.add_argument("--threshold", type=float, default=0.5)
        q.add_argument(
            "--min-note-steps",
            type=_positive(),
            default=1,
            help="drop notes shorter than this many steps (2 removes 16ths)",
        )
        voicing_args(q)
        q.add_argument("--out", required=True, help="folder for the MIDI files")

    g = sub.add_parser("generate", help="generate new music from scratch")
    model_args(g)
    g.add_argument("--bars", type=_positive(), default=8)
    g.add_argument("--tempo", type=_positive(float), default=None, help="BPM")

    h = sub.add_parser("harmonize", help="write the other voices around a melody")
    model_args(h)
    h.add_argument("--melody", required=True, help="MIDI file holding the melody")
    h.add_argument(
        "--melody-track", default=None, help="track name or index (default: first track with notes)"
    )

    c = sub.add_parser("continue", help="continue a MIDI phrase")
    model_args(c)
    c.add_argument("--primer", required=True, help="MIDI file to continue")
    c.add_argument("--bars", type=_positive(), default=4)

    e = sub.add_parser("evaluate", help="metrics of generated music next to the data's")
    e.add_argument("--model", default="default")
    e.add_argument(
        "--data",
        default=None,
        help="reference data (default: the model's own, held-out part when it has one)",
    )
    e.add_argument("--samples", type=_positive(), default=500)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--temperature", type=_non_negative_float, default=0.0)
    e.add_argument("--threshold", type=float, default=0.5)
    e.add_argument("--min-note-steps", type=_positive(), default=1)
    voicing_args(e)
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


# ----------------------------------------------------------------------------- commands
def _cmd_gui(args: argparse.Namespace) -> int:
    from studio.ui.app import run_app  # lazily: only the GUI needs Qt

    return int(run_app([args.file] if args.file else []))


def _train_config(args: argparse.Namespace) -> Any:
    from studio.ml.train import TrainConfig

    return TrainConfig(
        data=args.data,
        out_dir=args.out,
        preset=args.preset,
        steps=args.steps,
        batch_size=args.batch_size,
        lr_g=args.lr_g,
        lr_d=args.lr_d,
        checkpoint_every=args.checkpoint_every,
        preview_every=0,
        metrics_every=args.metrics_every,
        seed=args.seed,
        device=args.device,
        resume=args.resume,
        mapping=args.mapping,
        bars=args.bars,
        loss=args.loss,
        n_critic=5 if args.loss == "wgan-gp" else 1,
        recon_weight=args.recon_weight,
        adv_weight=args.adv_weight,
        keep_last=args.keep_last,
        threads=args.threads,
        cache_dir=args.cache_dir,
        max_minutes=args.minutes,
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from studio.ml import train as tr

    config = _train_config(args)
    if args.dry_run:
        s = tr.dry_run_summary(config)
        d = s["dataset"]
        print(
            f"data       {d['source']}: {d['files_used']} files, {d['windows']} windows "
            f"({d['heldout_windows']} held out), tracks {', '.join(d['tracks'])}"
        )
        print(
            f"window     {s['window'][0]} steps × {s['window'][1]} pitches "
            f"(from MIDI {s['lowest_pitch']})"
        )
        print(f"generator  {s['generator_params']:,} parameters ({s['generator_mb']:.1f} MB)")
        print(f"critic     {s['discriminator_params']:,} parameters")
        print(
            f"FLOPs      G {s['gflops_generator']:.3f} GFLOP/sample forward, "
            f"D {s['gflops_discriminator']:.3f}, train step "
            f"{s['gflops_train_step']:.3f} GFLOP/sample"
        )
        print(f"device     {s['device']}")
        return EXIT_OK
    control = tr.TrainControl()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: Any) -> None:
        if control.stopping:  # a second Ctrl-C stops at once
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        print("\nstopping after this step (saving a checkpoint)...", file=sys.stderr)
        control.request_stop()

    signal.signal(signal.SIGINT, on_interrupt)
    # Under torchrun every rank runs this command; only rank 0 reports.
    chatty = os.environ.get("RANK", "0") == "0"
    try:
        for event in tr.train(config, control):
            if chatty:
                _print_event(event, args.log_every)
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_OK


def _print_event(event: Any, every: int) -> None:
    from studio.ml import train as tr

    if isinstance(event, tr.Started):
        d, m = event.dataset_summary, event.model_summary
        print(
            f"training {m.get('preset')} ({m.get('generator_params', 0):,} G parameters) on "
            f"{d['source']} ({d['windows']} windows) with {event.device}, "
            f"steps {event.start_step + 1}..{event.total_steps}",
            flush=True,
        )
        _print_skipped(event)
    elif isinstance(event, tr.Notice):
        print(f"note: {event.message}", file=sys.stderr, flush=True)
    elif isinstance(event, tr.StepMetrics):
        if event.step % every == 0 or event.step == event.total:
            print(
                f"step {event.step}/{event.total}  g {event.g_loss:.4f}  d {event.d_loss:.4f}  "
                f"gp {event.gp:.4f}  recon {event.recon:.4f}  "
                f"{event.samples_per_s:.1f} samples/s  {event.elapsed:.0f}s",
                flush=True,
            )
    elif isinstance(event, tr.MetricsReport):
        keys = (
            "empty_bar_rate",
            "pitch_classes_per_bar",
            "qualified_note_rate",
            "polyphony",
            "scale_consistency",
        )
        parts = [
            f"{k} {event.generated.get(k, float('nan')):.3f}/{event.reference[k]:.3f}"
            for k in keys
            if k in event.reference
        ]
        print(f"metrics at {event.step} (generated/data): " + ", ".join(parts), flush=True)
    elif isinstance(event, tr.CheckpointSaved):
        print(f"checkpoint {event.path}", flush=True)
    elif isinstance(event, tr.Finished):
        print(
            f"finished ({event.reason}) at step {event.step}; checkpoint {event.checkpoint}",
            flush=True,
        )


def _print_skipped(event: Any, shown: int = 8) -> None:
    """How many files the scan skipped and why (grouped), and where the full list is."""
    from studio.ml.train import skip_reason_counts

    if not event.skipped:
        return
    d = event.dataset_summary
    print(
        f"used {d['files_used']} of {d['files_found']} files; skipped {len(event.skipped)}:",
        flush=True,
    )
    groups = skip_reason_counts(event.skipped)
    for reason, count in groups[:shown]:
        print(f"  {count:>6}  {reason}", flush=True)
    if len(groups) > shown:
        rest = sum(count for _, count in groups[shown:])
        print(f"  {rest:>6}  other reasons ({len(groups) - shown})", flush=True)
    if event.skipped_list:
        print(f"  full list: {event.skipped_list}", flush=True)


def _write_songs(songs: Sequence[Any], out: str, stem: str) -> list[Path]:
    from studio.core.midi_io import save_midi

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, song in enumerate(songs):
        path = folder / f"{stem}_{k + 1:02d}.mid"
        save_midi(song, path)
        paths.append(path)
        print(path)
    return paths


def _sampling(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "variations": args.variations,
        "seed": args.seed,
        "temperature": args.temperature,
        "threshold": args.threshold,
        "min_note_steps": args.min_note_steps,
    }


def _voicing(args: argparse.Namespace) -> Any:
    from studio.ml.voicing import VoiceDecoding

    return VoiceDecoding(refine_rounds=args.refine, rules=not args.free_voicing)


def _load_model(args: argparse.Namespace) -> Any:
    from studio.ml.sample import load_generator

    model = load_generator(args.model)
    model.voicing = _voicing(args)
    return model


def _cmd_generate(args: argparse.Namespace) -> int:
    from studio.ml.sample import generate

    model = _load_model(args)
    songs = generate(model, bars=args.bars, tempo=args.tempo, **_sampling(args))
    _write_songs(songs, args.out, f"generated_{args.seed}")
    return EXIT_OK


def _find_track(song: Any, spec: str | None, path: str) -> int:
    if spec is None:
        for k, track in enumerate(song.tracks):
            if len(track.notes):
                return k
        raise UsageError(f"{path} has no notes")
    if spec.lstrip("-").isdigit():
        k = int(spec)
        if not 0 <= k < len(song.tracks):
            raise UsageError(f"--melody-track {k}: {path} has {len(song.tracks)} tracks")
        return k
    names = [t.name for t in song.tracks]
    for k, name in enumerate(names):
        if name.strip().lower() == spec.strip().lower():
            return k
    raise UsageError(f"--melody-track {spec!r}: no such track in {path} (tracks: {names})")


def _cmd_harmonize(args: argparse.Namespace) -> int:
    from studio.core.midi_io import load_midi
    from studio.ml.sample import harmonize

    song = load_midi(args.melody)
    melody = _find_track(song, args.melody_track, args.melody)
    model = _load_model(args)
    # The melody is the top voice (model track 0), whatever the track is called.
    songs = harmonize(model, song, keep_tracks={melody: 0}, **_sampling(args))
    _write_songs(songs, args.out, f"{Path(args.melody).stem}_harmonized")
    return EXIT_OK


def _cmd_continue(args: argparse.Namespace) -> int:
    from studio.core.midi_io import load_midi
    from studio.ml.sample import continue_

    primer = load_midi(args.primer)
    if not any(len(t.notes) for t in primer.tracks):
        raise UsageError(f"{args.primer} has no notes to continue")
    model = _load_model(args)
    songs = continue_(model, primer, bars=args.bars, **_sampling(args))
    _write_songs(songs, args.out, f"{Path(args.primer).stem}_continued")
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from studio.ml.evaluate import evaluate_model, format_report

    t0 = time.perf_counter()
    report = evaluate_model(
        args.model,
        data=args.data,
        samples=args.samples,
        seed=args.seed,
        temperature=args.temperature,
        threshold=args.threshold,
        min_note_steps=args.min_note_steps,
        voicing=_voicing(args),
    )
    report["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return EXIT_OK


COMMANDS = {
    "gui": _cmd_gui,
    "train": _cmd_train,
    "generate": _cmd_generate,
    "harmonize": _cmd_harmonize,
    "continue": _cmd_continue,
    "evaluate": _cmd_evaluate,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    debug = "--debug" in argv
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0)
        if args.command is None:
            args.command, args.file = "gui", None
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"pianola: error: {exc}", file=sys.stderr)
        if debug:
            raise
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pianola: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"pianola: error: {message}", file=sys.stderr)
        return EXIT_ERROR
