"""The ``pianola`` command line (same as ``python -m studio``).

``pianola`` alone (or ``pianola gui [FILE]``) opens the desktop app; the subcommands
train, generate, harmonize, continue, infill, convert and evaluate run headless, the
generating ones through `studio.ml.generation` only (the same service as the panel).
Qt is only imported for the GUI; torch only once a model is needed. Every numeric option
has a range shown in ``--help``. Exit status: 0 success, 2 usage error (including a
request the model cannot serve), 130 stopped by Ctrl-C, 1 any other error (one line on
stderr; the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

from studio.ml.generation import plural  # torch-free, like this module

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
REFINE_ROUNDS = 2  # the engine's reading of a model that has no other (a test checks)


class UsageError(Exception):
    """Bad arguments detected after parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with a one-line message, like argparse
        raise UsageError(f"{message} (see `{self.prog} --help`)")


# Ranges shown in --help; generation's come from studio.ml.generation (no torch there).
TRAIN_STEPS = (1, 10_000_000)
TRAIN_BATCH = (1, 1_000_000)  # beyond 256 also checked against the free memory
TRAIN_BARS = (1, 64)
STEPS_PER_BEAT = (1, 48)
LEARNING_RATE = (0.0, 1.0)  # exclusive below
LR_DECAYS = ("none", "linear", "cosine")  # studio.ml.train.LR_DECAYS (no torch here)
LOSS_WEIGHT = (0.0, 1000.0)
SHARE = (0.0, 1.0)
OVERSAMPLE = (1, 16)
EVERY = (0, 10**9)
KEEP_LAST = (1, 1000)
MINUTES = (0.0, 525_600.0)  # a year
THREADS = (0, 1024)
SAMPLES = (1, 100_000)
TRAIN_MEMORY_SHARE = 0.7  # of the free memory a training batch may plan to use
CHECKED_BATCH = 256  # larger training batches are checked against the free memory first


def model_help() -> str:
    """--model's help, naming the bundled models that are there (torch-free)."""
    from studio.ml.bundled import bundled_models

    names = (
        ", ".join(
            m.name if m.name == m.path.stem else f"{m.name} (= {m.path.stem})"
            for m in bundled_models()
        )
        or "none yet"
    )
    return f"checkpoint, run folder, or a bundled model ({names})"


def _ranged(kind: type, lo: float, hi: float, *, open_below: bool = False, open_above=False):
    """An argparse type: a finite number of ``kind`` in [lo, hi] ((lo, hi] if
    ``open_below``); anything else is a usage error (exit 2) that states the range."""
    span = f"{'>' if open_below else '>='} {_num(lo)} and {'<' if open_above else '<='} {_num(hi)}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
        inside = value > lo if open_below else value >= lo
        below_top = value < hi if open_above else value <= hi
        if not (math.isfinite(value) and inside and below_top):
            raise argparse.ArgumentTypeError(f"must be {span}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _range_text(lo: float, hi: float, open_below: bool = False) -> str:
    return f"{'(' if open_below else '['}{_num(lo)}, {_num(hi)}]"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" to each option's help, except where there is nothing to say
    (a flag, an option without default) or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        nothing = action.default is None or action.default is False
        if nothing or action.default == argparse.SUPPRESS or "(default" in text:
            return text
        return super()._get_help_string(action) or text


def build_parser() -> argparse.ArgumentParser:
    from studio import __version__
    from studio.ml import generation as gen

    def ranged(kind: type, bounds: tuple[float, float], open_below: bool = False) -> Any:
        return _ranged(kind, bounds[0], bounds[1], open_below=open_below)

    model_choices = model_help()  # one look at the models folder, for every command

    def rng(bounds: tuple[float, float], open_below: bool = False) -> str:
        return _range_text(bounds[0], bounds[1], open_below)

    p = _Parser(
        prog="pianola",
        description="Pianola: train a GAN on MIDI, generate, edit.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"pianola {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, formatter_class=_HelpFormatter)

    gui = command("gui", "open the desktop app (the default)")
    gui.add_argument("file", nargs="?", help="a .mid or project file to open")

    t = command("train", "train a model on a folder of MIDI or bach-chorales")
    t.add_argument("--data", required=True, help="folder of MIDI files, or bach-chorales")
    t.add_argument("--out", required=True, help="run folder for checkpoints and logs")
    t.add_argument(
        "--steps",
        type=ranged(int, TRAIN_STEPS),
        default=2000,
        help=f"training steps {rng(TRAIN_STEPS)}",
    )
    t.add_argument(
        "--batch-size",
        type=ranged(int, TRAIN_BATCH),
        default=32,
        help=f"windows per step and process {rng(TRAIN_BATCH)}; refused when it cannot fit "
        "in memory",
    )
    t.add_argument(
        "--preset",
        choices=("tiny", "small", "default"),
        default="default",
        help="model size (small: about half the default's time per network pass, to distill)",
    )
    t.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] | mps")
    t.add_argument(
        "--seed",
        type=ranged(int, gen.SEED_RANGE),
        default=0,
        help=f"random seed of the run {rng(gen.SEED_RANGE)}",
    )
    t.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    t.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from a trained model's weights (checkpoint, run folder or a bundled model) "
        "instead of at random; a key-conditioned run may start from a model without keys",
    )
    t.add_argument(
        "--distill-from",
        metavar="MODEL",
        help="learn to imitate a trained model (checkpoint, run folder or a bundled model): "
        "its probabilities become the reconstruction targets (knowledge distillation), e.g. "
        "--preset small --distill-from default for a faster model",
    )
    t.add_argument(
        "--distill-refined",
        choices=("beliefs", "notes"),
        default="",
        help="with --distill-from: learn what the teacher's refined reading (one pass, then "
        "its refinement rounds) ends on, so the student writes it in one pass: the "
        "probabilities each voice was last read from (beliefs) or the finished notes",
    )
    t.add_argument("--dry-run", action="store_true", help="print parameters and FLOPs, then exit")
    t.add_argument(
        "--mapping",
        choices=("auto", "bach", "musegan", "piano"),
        default="auto",
        help="track layout: auto, bach (SATB), musegan (5 families), piano (merged)",
    )
    t.add_argument(
        "--bars",
        type=ranged(int, TRAIN_BARS),
        default=4,
        help=f"bars (of 4/4) per training window, cut at bar lines in any metre {rng(TRAIN_BARS)}",
    )
    t.add_argument(
        "--steps-per-beat",
        type=ranged(int, STEPS_PER_BEAT),
        default=4,
        help="grid steps per quarter note: 4 holds sixteenths and 6/8, 12 also triplets "
        f"(3x the compute) {rng(STEPS_PER_BEAT)} (default: 4)",
    )
    t.add_argument(
        "--key-conditioning",
        action="store_true",
        help="tell the network each window's key, so --key asks the network itself",
    )
    t.add_argument(
        "--phrase-conditioning",
        action="store_true",
        help="tell the network where phrases end (the folder's phrases.json, e.g. Bach's "
        "fermatas), so --cadence-every places cadences",
    )
    t.add_argument(
        "--metre-planes",
        action="store_true",
        help="tell the network each window's bar and beat length, not only where it is in "
        "them (for folders in more than one metre)",
    )
    for flag, net in (("--lr-g", "generator"), ("--lr-d", "critic")):
        t.add_argument(
            flag,
            type=ranged(float, LEARNING_RATE, open_below=True),
            default=2e-4,
            help=f"learning rate of the {net} {rng(LEARNING_RATE, open_below=True)}",
        )
    t.add_argument(
        "--lr-decay",
        choices=LR_DECAYS,
        default="none",
        help="decay both learning rates to --lr-final of them by the last step",
    )
    t.add_argument(
        "--lr-decay-start",
        type=ranged(int, (0, TRAIN_STEPS[1])),
        default=0,
        metavar="STEP",
        help="the step the decay starts from (e.g. where a resumed run left off) "
        f"{rng((0, TRAIN_STEPS[1]))}",
    )
    t.add_argument(
        "--lr-final",
        type=ranged(float, LEARNING_RATE, open_below=True),
        default=0.1,
        help="the rates' share at the last step, with --lr-decay "
        f"{rng(LEARNING_RATE, open_below=True)}",
    )
    t.add_argument("--loss", choices=("hinge", "wgan-gp"), default="hinge", help="adversarial loss")
    t.add_argument(
        "--recon-weight",
        type=ranged(float, LOSS_WEIGHT),
        default=10.0,
        help=f"weight of the reconstruction loss {rng(LOSS_WEIGHT)}",
    )
    t.add_argument(
        "--oversample-metres",
        type=ranged(int, OVERSAMPLE),
        default=1,
        help="draw the windows of every metre but the folder's most common one N times per "
        f"epoch {rng(OVERSAMPLE)}, so a metre with few windows is not drowned out (1: off)",
    )
    t.add_argument(
        "--interleave-share",
        type=ranged(float, SHARE),
        default=0.0,
        help="share of training windows that hide alternate beats of a voice with all else "
        f"given, as a beat-interleaved refinement reading asks {rng(SHARE)} (0: off)",
    )
    t.add_argument(
        "--offgrid-share",
        type=ranged(float, SHARE),
        default=0.0,
        help="share of training windows that hide only the sixteenth steps (off the eighth "
        f"grid) of some voices with all else given, as a sixteenths pass asks {rng(SHARE)} "
        "(0: off)",
    )
    t.add_argument(
        "--voice-leading-weight",
        type=ranged(float, LOSS_WEIGHT),
        default=0.0,
        help="weight of a loss on the parallel fifths and octaves the generator's pitch "
        f"probabilities imply, between adjacent voices {rng(LOSS_WEIGHT)} (default: 0, off)",
    )
    t.add_argument(
        "--length-weight",
        type=ranged(float, LOSS_WEIGHT),
        default=0.0,
        help="experimental: weight of a loss on how far each voice's note lengths, as the "
        "generator's probabilities imply them, are from the music's in the same windows "
        f"(Jensen-Shannon, 1 step to 2 beats or more) {rng(LOSS_WEIGHT)} (default: 0, off)",
    )
    t.add_argument(
        "--length-threshold",
        type=ranged(float, SHARE),
        default=0.0,
        help="with --length-weight: read a step's onset as the voice reading does, a strike "
        "where it passes this share of the voice's sounding mass (0.5 is the reading's), "
        f"softened to keep a gradient {rng(SHARE)} (default: 0, each onset a probability)",
    )
    t.add_argument(
        "--read-critic-weight",
        type=ranged(float, LOSS_WEIGHT),
        default=0.0,
        help="experimental: each step, read the batch as generation does and train the critic "
        "on that music; the generator learns from the critic's scores of it through a "
        f"REINFORCE-style term of this weight {rng(LOSS_WEIGHT)}; needs --adv-weight 0 "
        "--fm-weight 0 (default: 0, off)",
    )
    t.add_argument(
        "--read-critic-signal",
        choices=("above", "signed", "even"),
        default="above",
        help="with --read-critic-weight: which read windows the generator learns from: "
        "those the critic scores above the batch's mean (above), all of them, the ones below "
        "pushed away (signed), or all evenly, the critic choosing nothing (even: the control) "
        "(default: above)",
    )
    t.add_argument(
        "--cadence-weight",
        type=ranged(float, LOSS_WEIGHT),
        default=4.0,
        help="with --phrase-conditioning: weight of the reconstruction loss on the two "
        f"beats from each phrase end, relative to the rest {rng(LOSS_WEIGHT)} (default: 4.0)",
    )
    t.add_argument(
        "--adv-weight",
        type=ranged(float, LOSS_WEIGHT),
        default=1.0,
        help=f"weight of the adversarial loss {rng(LOSS_WEIGHT)}",
    )
    t.add_argument(
        "--fm-weight",
        type=ranged(float, LOSS_WEIGHT),
        default=1.0,
        help="weight of the feature-matching loss (the discriminator's features of real and "
        f"generated music) {rng(LOSS_WEIGHT)}; with --adv-weight 0 and --fm-weight 0 the "
        "discriminator is not trained at all (e.g. pure distillation)",
    )
    t.add_argument(
        "--checkpoint-every",
        type=ranged(int, EVERY),
        default=500,
        help=f"save a checkpoint every N steps, 0: only at the end {rng(EVERY)}",
    )
    t.add_argument(
        "--metrics-every",
        type=ranged(int, EVERY),
        default=500,
        help=f"measure the music every N steps, 0: never {rng(EVERY)}",
    )
    t.add_argument(
        "--keep-last",
        type=ranged(int, KEEP_LAST),
        default=3,
        help=f"checkpoints kept {rng(KEEP_LAST)}",
    )
    t.add_argument(
        "--minutes",
        type=ranged(float, MINUTES),
        default=0.0,
        help=f"stop and save after this much training time, 0: run all steps {rng(MINUTES)}",
    )
    t.add_argument(
        "--threads",
        type=ranged(int, THREADS),
        default=0,
        help=f"torch CPU threads, 0: torch's default {rng(THREADS)}",
    )
    t.add_argument("--cache-dir", default=None, help="dataset cache folder")
    t.add_argument(
        "--log-every",
        type=ranged(int, (1, EVERY[1])),
        default=50,
        help=f"print every N steps {rng((1, EVERY[1]))}",
    )

    def sampling_args(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--seed",
            type=ranged(int, gen.SEED_RANGE),
            default=0,
            help=f"variation k is made from seed + k {rng(gen.SEED_RANGE)}",
        )
        q.add_argument(
            "--temperature",
            type=ranged(float, gen.TEMPERATURE_RANGE),
            default=0.0,
            help=f"0: hard threshold; > 0: sample at this temperature {rng(gen.TEMPERATURE_RANGE)}",
        )
        q.add_argument(
            "--threshold",
            type=_ranged(float, *gen.THRESHOLD_RANGE, open_below=True, open_above=True),
            default=0.5,
            help="probability a cell needs to sound, with temperature 0 (0, 1)",
        )
        q.add_argument(
            "--min-note-steps",
            type=ranged(int, gen.MIN_NOTE_STEPS_RANGE),
            default=1,
            help="drop notes shorter than this many steps, 2 removes 16ths "
            f"{rng(gen.MIN_NOTE_STEPS_RANGE)}",
        )
        q.add_argument(
            "--refine",
            type=ranged(int, gen.REFINE_RANGE),
            default=None,
            help="rounds in which each voice is redrawn given the others, 0: one pass "
            f"{rng(gen.REFINE_RANGE)} (default: the model's own reading, named in its file: "
            f"{REFINE_ROUNDS} unless it says otherwise; bach-small reads with 1)",
        )
        q.add_argument(
            "--beat-rounds",
            type=ranged(int, gen.REFINE_RANGE),
            default=None,
            help="then rounds in which each voice is redrawn in two passes, alternate beats "
            "hidden, so each note sees the voice's own notes around it "
            f"{rng(gen.REFINE_RANGE)} (default: the model's own reading; --refine 0 alone "
            "means one pass, no rounds of either kind)",
        )
        q.add_argument(
            "--no-sixteenths",
            dest="sixteenths",
            action="store_false",
            help="skip the model's sixteenths pass, where its file names one (bach-lines): "
            "voices then move only on the eighths",
        )
        q.add_argument(
            "--free-voicing",
            action="store_true",
            help="let voices move in parallel fifths/octaves and cross",
        )

    def model_args(q: argparse.ArgumentParser, variations: int = 4) -> None:
        q.add_argument("--model", default="default", help=model_choices)
        q.add_argument(
            "--variations",
            type=ranged(int, gen.VARIATIONS_RANGE),
            default=variations,
            help=f"pieces to write, made {gen.BATCH} at a time {rng(gen.VARIATIONS_RANGE)}",
        )
        sampling_args(q)
        q.add_argument(
            "--cadence-every",
            type=ranged(int, gen.CADENCE_EVERY_RANGE),
            default=None,
            metavar="BARS",
            help="a phrase end (cadence) every BARS bars, for a model trained with "
            "--phrase-conditioning; 0 lets the network phrase on its own "
            f"{rng(gen.CADENCE_EVERY_RANGE)} (default: the model's, 2)",
        )
        q.add_argument("--out", required=True, help="folder for the MIDI files")

    bars = ranged(int, gen.BARS_RANGE)
    g = command("generate", "generate new music from scratch")
    model_args(g)
    g.add_argument("--bars", type=bars, default=8, help=f"length {rng(gen.BARS_RANGE)}")
    g.add_argument(
        "--tempo",
        type=ranged(float, gen.TEMPO_RANGE),
        default=None,
        help=f"beats per minute (default: the model's) {rng(gen.TEMPO_RANGE)}",
    )
    g.add_argument(
        "--key",
        default=None,
        help='key to write in, e.g. "G minor", "C", "F# major", "Bb minor" (default: any: '
        "a key drawn from the keys of the model's training music)",
    )
    g.add_argument(
        "--time-signature",
        default=None,
        help='metre, e.g. "3/4", "6/8", "2/2" (default: the model\'s)',
    )

    h = command("harmonize", "write the other voices around a melody")
    model_args(h)
    h.add_argument("--melody", required=True, help="song file (MIDI, MusicXML, project)")
    h.add_argument(
        "--melody-track",
        default=None,
        help="track name or index (default: the first track with notes); it becomes the "
        "voice whose range fits it",
    )

    c = command("continue", "continue a phrase")
    model_args(c)
    c.add_argument("--primer", required=True, help="song file to continue")
    c.add_argument("--bars", type=bars, default=4, help=f"new bars {rng(gen.BARS_RANGE)}")

    i = command("infill", "rewrite a range of bars of some tracks of a song")
    model_args(i, variations=1)
    i.add_argument("--song", required=True, help="song file (MIDI, MusicXML, project)")
    i.add_argument(
        "--start-bar",
        type=bars,
        required=True,
        help=f"first bar to rewrite, 1 = the first bar {rng(gen.BARS_RANGE)}",
    )
    i.add_argument(
        "--end-bar",
        type=bars,
        required=True,
        help=f"last bar to rewrite, inclusive {rng(gen.BARS_RANGE)}",
    )
    i.add_argument(
        "--tracks",
        default=None,
        help="comma-separated track names or indices to rewrite (default: every track "
        "the model can write)",
    )

    v = command("convert", "convert a song between .mid, .musicxml/.mxl and .pianola")
    v.add_argument("src", help="file to read")
    v.add_argument("dst", help="file to write (its extension chooses the format)")

    e = command("evaluate", "metrics of generated music next to the data's")
    e.add_argument("--model", default="default", help=model_choices)
    e.add_argument(
        "--data",
        default=None,
        help="reference data (default: the model's own, held-out part when it has one)",
    )
    e.add_argument(
        "--samples",
        type=ranged(int, SAMPLES),
        default=500,
        help=f"windows generated from scratch {rng(SAMPLES)}",
    )
    sampling_args(e)
    e.add_argument(
        "--c2st",
        action="store_true",
        help="also run the engine-v2 tests: classifier two-sample tests (feature and conv, "
        "beside real-vs-real), note lengths, consecutive fifths/octaves, memorisation, keys "
        "and whole-piece harmonization, on --samples windows, for the default decoding and the "
        "network alone whatever --refine/--free-voicing say (minutes on a CPU)",
    )
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
        lr_decay=args.lr_decay,
        lr_decay_start=args.lr_decay_start,
        lr_final=args.lr_final,
        checkpoint_every=args.checkpoint_every,
        preview_every=0,
        metrics_every=args.metrics_every,
        seed=args.seed,
        device=args.device,
        resume=args.resume,
        init_from=args.init_from,
        distill_from=args.distill_from,
        distill_refined=args.distill_refined,
        mapping=args.mapping,
        bars=args.bars,
        steps_per_beat=args.steps_per_beat,
        key_conditioning=args.key_conditioning,
        phrase_conditioning=args.phrase_conditioning,
        metre_planes=args.metre_planes,
        oversample_metres=args.oversample_metres,
        loss=args.loss,
        n_critic=5 if args.loss == "wgan-gp" else 1,
        recon_weight=args.recon_weight,
        cadence_weight=args.cadence_weight,
        voice_leading_weight=args.voice_leading_weight,
        length_weight=args.length_weight,
        length_threshold=args.length_threshold,
        read_critic_weight=args.read_critic_weight,
        read_critic_signal=args.read_critic_signal,
        interleave_share=args.interleave_share,
        offgrid_share=args.offgrid_share,
        adv_weight=args.adv_weight,
        fm_weight=args.fm_weight,
        keep_last=args.keep_last,
        threads=args.threads,
        cache_dir=args.cache_dir,
        max_minutes=args.minutes,
    )


def training_bytes_per_sample(model_cfg: Any) -> int:
    """Memory one window of a batch costs in a training step (estimate, bytes): every
    layer's output of the generator (kept for the backward pass, plus its gradient) and of
    the critic (real and fake windows, twice over for the gradient penalty), in float32."""
    import torch

    from studio.ml.models import Discriminator, Generator

    cells = [0]

    def count(module: Any, inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor) and not list(module.children()):
            cells[0] += output.numel()

    cfg = model_cfg
    g, d = Generator(cfg), Discriminator(cfg)
    hooks = [m.register_forward_hook(count) for net in (g, d) for m in net.modules()]
    with torch.no_grad():
        planes = torch.zeros(1, 2 * cfg.n_tracks, cfg.n_steps, cfg.n_pitches)
        mask = torch.zeros(1, cfg.n_tracks, cfg.n_steps)
        g(torch.zeros(1, cfg.z_dim), planes, mask)
        g_cells = cells[0]
        d(planes, mask)
    for hook in hooks:
        hook.remove()
    d_cells = cells[0] - g_cells
    # Plus about 16 window-sized planes of the step itself (real, fake, masks, logits...).
    # Measured peaks: 22 MB a window for the default preset (this says 28), 7.7 for tiny (7.3).
    return 4 * (3 * g_cells + 6 * d_cells + 16 * planes.numel())


def _check_training_memory(config: Any) -> None:
    """Refuse (with a batch size that fits) a batch too large for this machine's memory."""
    from studio.ml import train as tr
    from studio.ml.generation import available_memory

    free = available_memory()
    if free is None:
        return
    per_sample = training_bytes_per_sample(tr.Trainer(config).model_cfg)
    budget = free * TRAIN_MEMORY_SHARE
    if config.batch_size * per_sample > budget:
        fits = max(1, int(budget // per_sample))
        raise UsageError(
            f"--batch-size {config.batch_size} needs about "
            f"{config.batch_size * per_sample / 2**30:.1f} GB and {free / 2**30:.1f} GB is "
            f"free: use --batch-size {fits} or less (or several processes with torchrun)"
        )


def _cmd_train(args: argparse.Namespace) -> int:
    from studio.ml import train as tr

    config = _train_config(args)
    if config.batch_size > CHECKED_BATCH:
        _check_training_memory(config)
    if args.dry_run:
        s = tr.dry_run_summary(config)
        d = s["dataset"]
        print(
            f"data       {d['source']}: {plural(d['files_used'], 'file')}, "
            f"{plural(d['windows'], 'window')} ({d['heldout_windows']} held out), "
            f"tracks {', '.join(d['tracks'])}"
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
        if s["gflops_teacher"]:
            print(
                f"teacher    {args.distill_from}: {s['gflops_teacher']:.3f} GFLOP/sample forward "
                "in every step (distillation)"
                + (
                    ", then its refinement passes (--distill-refined)"
                    if args.distill_refined
                    else ""
                )
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
        steps = (
            f"steps {event.start_step + 1}..{event.total_steps}"
            if event.start_step < event.total_steps
            # A resumed run that had already ended (e.g. a rerun of a multi-stage script).
            else f"nothing left to train: the run already reached step {event.total_steps}"
        )
        windows = plural(d["windows"], "window")
        drawn = m.get("windows_per_epoch", d["windows"])
        if drawn != d["windows"]:
            windows += f", {drawn:,} drawn per epoch"
        print(
            f"training {m.get('preset')} ({m.get('generator_params', 0):,} G parameters) on "
            f"{d['source']} ({windows}) with {event.device}, {steps}",
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
                + (f"par {event.parallels:.5f}  " if event.parallels else "")
                + (f"len {event.lengths:.5f}  " if event.lengths else "")
                + (f"gap {event.read_gap:.3f}  " if event.read_gap else "")
                + f"{event.samples_per_s:.1f} samples/s  {event.elapsed:.0f}s",
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
        f"used {d['files_used']} of {plural(d['files_found'], 'file')}; "
        f"skipped {len(event.skipped)}:",
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


def _read_song(path: str) -> Any:
    """A song file of any kind the app opens (MIDI, MusicXML, project); a file name of
    another kind is a usage error."""
    from studio.core.convert import ConvertError, format_of, read_song

    try:
        format_of(path)
    except ConvertError as exc:
        raise UsageError(str(exc)) from None
    return read_song(path).song


@contextmanager
def _interruptible(what: str) -> Iterator[threading.Event]:
    """Ctrl-C sets the event (the work stops at its next check and keeps what is done);
    a second Ctrl-C stops at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        print(f"\nstopping {what} (Ctrl-C again to quit at once)...", file=sys.stderr)
        stop.set()

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


class _ProgressLine:
    """``  42%  Writing variation 1-16 of 100`` on stderr, redrawn in place on a
    terminal (and only when the whole percent changes); silent when stderr is a file."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.shown = (-1, "")

    def __call__(self, fraction: float, text: str) -> None:
        shown = (int(fraction * 100), text)
        if self.live and shown != self.shown:
            self.shown = shown
            print(f"\r{shown[0]:3d}%  {text}\033[K", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.live and self.shown[0] >= 0:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _sampling(args: argparse.Namespace) -> Any:
    from studio.ml.generation import SamplingOptions

    return SamplingOptions(
        temperature=args.temperature,
        threshold=args.threshold,
        min_note_steps=args.min_note_steps,
        refine_rounds=args.refine,
        beat_rounds=args.beat_rounds,
        sixteenths=args.sixteenths,
        strict_voicing=not args.free_voicing,
    )


def _generate_files(args: argparse.Namespace, stem: str, **fields: Any) -> int:
    """Run one generation request and write each batch of variations as it is done."""
    from studio.core.midi_io import save_midi
    from studio.ml import generation as gen

    request = gen.GenerationRequest(
        model=args.model,
        variations=args.variations,
        seed=args.seed,
        sampling=_sampling(args),
        cadence_every=args.cadence_every,
        **fields,
    )
    model = gen.load_model(args.model)
    folder = Path(args.out)
    width = max(2, len(str(args.variations)))
    written = 0
    line = _ProgressLine()
    with _interruptible("after this pass") as stop:
        try:
            results = gen.run(request, line, stop.is_set, model, drafts=False)
        except gen.GenerationError as exc:  # refused before any work
            raise UsageError(str(exc)) from None
        folder.mkdir(parents=True, exist_ok=True)
        try:
            noted: set[str] = set()
            for result in results:
                line.done()
                for note in result.notes:
                    if note not in noted:  # the same sentence once, not per batch
                        noted.add(note)
                        print(f"pianola: note: {note}", file=sys.stderr, flush=True)
                for k, song in enumerate(result.songs, start=result.first + 1):
                    path = folder / f"{stem}_{k:0{width}d}.mid"
                    save_midi(song, path)
                    written += 1
                    print(path, flush=True)
        except gen.GenerationCancelled:
            line.done()
            total = plural(args.variations, "variation")
            print(f"pianola: stopped: {written} of {total} written to {folder}", file=sys.stderr)
            return EXIT_INTERRUPTED
    return EXIT_OK


def _key_and_metre(args: argparse.Namespace) -> tuple[str | None, tuple[int, int] | None]:
    """``--key`` and ``--time-signature`` checked (a usage error lists the accepted forms)."""
    from studio.core.keys import KeyNameError, parse_key
    from studio.ml.metre import MetreError, parse_metre

    try:
        if args.key is not None:
            parse_key(args.key)
        metre = parse_metre(args.time_signature) if args.time_signature is not None else None
    except (KeyNameError, MetreError) as exc:
        raise UsageError(str(exc)) from None
    return args.key, metre


def _cmd_generate(args: argparse.Namespace) -> int:
    key, metre = _key_and_metre(args)
    return _generate_files(
        args,
        f"generated_{args.seed}",
        mode="generate",
        bars=args.bars,
        tempo=args.tempo,
        key=key,
        time_signature=metre,
    )


def _find_tracks(song: Any, spec: str, path: str, option: str) -> list[int]:
    return [_find_track(song, part, path, option) for part in spec.split(",") if part.strip()]


def _find_track(song: Any, spec: str | None, path: str, option: str = "--melody-track") -> int:
    if spec is None:
        for k, track in enumerate(song.tracks):
            if len(track.notes):
                return k
        raise UsageError(f"{path} has no notes")
    count = plural(len(song.tracks), "track")
    if spec.strip().lstrip("-").isdigit():
        k = int(spec)
        if not 0 <= k < len(song.tracks):
            raise UsageError(f"{option} {k}: {path} has {count}")
        return k
    names = [t.name for t in song.tracks]
    for k, name in enumerate(names):
        if name.strip().lower() == spec.strip().lower():
            return k
    raise UsageError(f"{option} {spec!r}: no such track in {path} ({count}: {names})")


def _cmd_harmonize(args: argparse.Namespace) -> int:
    song = _read_song(args.melody)
    melody = _find_track(song, args.melody_track, args.melody)
    stem = f"{Path(args.melody).stem}_harmonized"
    return _generate_files(args, stem, mode="harmonize", song=song, melody_track=melody)


def _cmd_continue(args: argparse.Namespace) -> int:
    primer = _read_song(args.primer)
    if not any(len(t.notes) for t in primer.tracks):
        raise UsageError(f"{args.primer} has no notes to continue")
    stem = f"{Path(args.primer).stem}_continued"
    return _generate_files(args, stem, mode="continue", song=primer, bars=args.bars)


def _bar_ticks(song: Any, first: int, last: int) -> tuple[int, int]:
    """[start, end) ticks of bars ``first..last`` (1-based, inclusive)."""
    if last < first:
        raise UsageError(f"--end-bar {last} comes before --start-bar {first}")
    starts = song.bar_starts(song.end_tick)
    if first > len(starts):
        raise UsageError(f"--start-bar {first}: the song has {plural(len(starts), 'bar')}")
    start = starts[first - 1]
    if last < len(starts):
        return start, starts[last]
    tail = starts[-1]
    return start, tail + (last - len(starts) + 1) * song.ticks_per_bar(tail)


def _cmd_infill(args: argparse.Namespace) -> int:
    song = _read_song(args.song)
    region = _bar_ticks(song, args.start_bar, args.end_bar)
    tracks = None
    if args.tracks is not None:
        tracks = tuple(_find_tracks(song, args.tracks, args.song, "--tracks"))
        if not tracks:
            raise UsageError("--tracks: name at least one track")
    stem = f"{Path(args.song).stem}_bars{args.start_bar}-{args.end_bar}"
    return _generate_files(args, stem, mode="infill", song=song, region=region, tracks=tracks)


def _cmd_convert(args: argparse.Namespace) -> int:
    from studio.core.convert import ConvertError, convert_file, format_of

    try:
        format_of(args.src), format_of(args.dst)
    except ConvertError as exc:
        raise UsageError(str(exc)) from None
    report = convert_file(args.src, args.dst)
    print(report.summary())
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from studio.ml.evaluate import evaluate_model, format_report

    t0 = time.perf_counter()
    report = evaluate_model(
        args.model,
        data=args.data,
        samples=args.samples,
        seed=args.seed,
        sampling=_sampling(args),
        keep_rolls=args.c2st,
    )
    report["seconds"] = round(time.perf_counter() - t0, 2)
    windows = report.pop("windows", None)
    if args.c2st:
        from studio.ml.engine_eval import engine_report, markdown

        # With the default decoding its windows are the ones just generated: reuse them.
        report["engine_v2"] = engine_report(
            args.model,
            samples=args.samples,
            seed=args.seed,
            known=windows,
            key_samples=min(32, args.samples),
        )
    if args.json:
        print(json.dumps(report, indent=2, default=float))
    else:
        print(format_report(report))
        if args.c2st:
            print()
            print(markdown(report["engine_v2"]))
    return EXIT_OK


COMMANDS = {
    "gui": _cmd_gui,
    "train": _cmd_train,
    "generate": _cmd_generate,
    "harmonize": _cmd_harmonize,
    "continue": _cmd_continue,
    "infill": _cmd_infill,
    "convert": _cmd_convert,
    "evaluate": _cmd_evaluate,
}


# Commands whose work is done when `main` returns: every file is written (atomically)
# and nothing is left to clean up. The `pianola` command leaves them with os._exit once
# its output is flushed, skipping the interpreter's teardown of torch's thousands of
# objects: about 0.5 s of a 2.5 s `pianola generate --bars 8` on a 2-core machine
# (bench.bench_ml's process row). `train` and `gui` exit the ordinary way.
QUICK_EXIT_COMMANDS = frozenset({"generate", "harmonize", "continue", "infill", "evaluate"})


def console_main() -> NoReturn:
    """The `pianola` command (pyproject's entry point, and the frozen ``pianola-cli``):
    `main` on ``sys.argv``, then the exit."""
    argv = sys.argv[1:]
    code = main(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in QUICK_EXIT_COMMANDS:
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe: nothing more can be said there
            stream.flush()
    os._exit(code)


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
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"pianola: error: {message}", file=sys.stderr)
        return EXIT_ERROR
