"""The training loop: a plain generator that yields events between steps.

``train(config, control)`` yields ``Started``, then per step ``StepMetrics`` and, at
their intervals, ``Preview``, ``MetricsReport`` and ``CheckpointSaved``, and finally
``Finished``. It checks ``control`` for stop/pause between steps, so a GUI worker and
the CLI drive it the same way; it imports no Qt.

Objective (per step, one batch):
  * Each real window gets a random task mask (from scratch / continue / harmonize /
    infill). G sees the given cells and fills the rest; the fake roll is the given
    cells plus G's probabilities elsewhere.
  * D (spectral norm) is trained with the hinge loss on real vs fake rolls; or
    WGAN-GP (``loss="wgan-gp"``: λ·(‖∇D‖-1)², several D steps per G step).
  * G: adversarial term + ``recon_weight`` × per-cell BCE on the hidden cells (the
    "inpainting" term: it teaches voice leading within a few minutes of training,
    where an adversarial signal alone is still noise) + ``fm_weight`` × D feature
    matching + ``mono_ce_weight`` × a cross-entropy over the pitch axis for monophonic
    voices. From-scratch windows get ``scratch_recon`` × the BCE weight: with nothing
    given, BCE towards one particular chorale would pull every sample to the average. The
    adversarial terms ramp up over the first ``adv_warmup`` steps, once the
    reconstruction terms have taught the voices their ranges.

Reliability: a run's start deletes temp files that killed checkpoint saves left in its
folder; ``resume`` skips a damaged newest checkpoint for the newest good one and says so
in a ``Notice``; the files the dataset scan skipped are listed in ``skipped_files.tsv``.

Determinism: each step's batch, transpositions, masks and latents come from a torch
Generator seeded by (seed, rank, step), and the batch order from a DistributedSampler
epoch permutation indexed by step — so a resumed run's next step is exactly the step
an uninterrupted run would have taken.

Distributed: under ``torchrun`` (``WORLD_SIZE`` > 1) both networks are wrapped in
DistributedDataParallel (NCCL on CUDA, gloo on CPU); every rank draws a disjoint shard
of windows; rank 0 alone writes checkpoints and logs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from studio.core.atomic import atomic_write_text, clean_stale_temps
from studio.core.song import Song
from studio.ml import checkpoint as ckpt
from studio.ml import compute
from studio.ml.data import DatasetScan, WindowSet, model_pitch_window, scan_dataset
from studio.ml.devices import resolve_device
from studio.ml.errors import (
    CheckpointError,
    NonFiniteLossError,
    OutOfMemoryTrainingError,
    TrainingError,
)
from studio.ml.generation import STUDENT_REFINE_ROUNDS
from studio.ml.keying import key_counts
from studio.ml.losses import (
    expected_parallels,
    length_divergence,
    note_length_histogram,
    voice_pitch_probs,
)
from studio.ml.models import (
    ARCH_VERSION,
    Discriminator,
    Generator,
    ModelConfig,
    count_parameters,
    flops_per_sample,
    preset_config,
)
from studio.ml.phrases import UNKNOWN_SHARE
from studio.ml.voicing import VoiceDecoding

if TYPE_CHECKING:
    from studio.ml.sample import LoadedModel

REFINED_TARGETS = ("", "notes", "beliefs")  # TrainConfig.distill_refined
READ_SIGNALS = ("above", "signed", "even")  # TrainConfig.read_critic_signal


@dataclass
class TrainConfig:
    data: str = "bach-chorales"
    out_dir: str = "runs/default"
    preset: str = "default"
    steps: int = 2000
    batch_size: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    # Learning-rate schedule: "none" (constant), "linear" or "cosine" decay of both rates
    # from step ``lr_decay_start`` to ``lr_final`` of them at the last step. A GAN at a
    # constant rate keeps swinging (models/bach-default.md, "Longer"); a decaying one
    # can settle.
    lr_decay: str = "none"
    lr_decay_start: int = 0
    lr_final: float = 0.1
    checkpoint_every: int = 500
    preview_every: int = 100
    metrics_every: int = 500
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    # Data
    mapping: str = "auto"
    bars: int = 4  # window length in bars of 4/4; windows of every metre are cut at bar lines
    # Grid steps per quarter note. 4 (the bundled model) holds sixteenths, and compound
    # metres (6/8: an eighth is 2 steps); 12 also holds triplets, at 3x the compute.
    steps_per_beat: int = 4
    key_conditioning: bool = False  # the network is told each window's key (engine v2)
    # The network is told where phrases end (the folder's phrases.json: Bach's fermatas);
    # `studio.ml.phrases.UNKNOWN_SHARE` of the windows are shown as "unknown".
    phrase_conditioning: bool = False
    # Weight of the reconstruction losses on the two beats from each marked phrase end,
    # relative to the other hidden cells: where the phrase planes tell the most, the
    # loss listens the most (1: no extra weight).
    cadence_weight: float = 4.0
    # The network is told each window's bar and beat length (`models.metre_length_planes`).
    metre_planes: bool = False
    # Windows in any metre but the folder's most common one are drawn this many times per
    # epoch (1: as often as the others), so a metre with few windows is not drowned out.
    oversample_metres: int = 1
    transpose: int | None = None  # max semitones of augmentation; None: 3 (Bach) / 5
    cache_dir: str | None = None
    # Objective
    loss: str = "hinge"  # "hinge" | "wgan-gp"
    n_critic: int = 1
    gp_weight: float = 10.0
    adv_weight: float = 1.0
    recon_weight: float = 10.0
    fm_weight: float = 1.0
    scratch_recon: float = 0.25
    mono_ce_weight: float = 1.0  # per-voice pitch cross-entropy on monophonic tracks
    # Expected parallel fifths/octaves between adjacent monophonic voices
    # (`studio.ml.losses.expected_parallels`); 0: off, as every model before it.
    voice_leading_weight: float = 0.0
    # Jensen-Shannon divergence of each voice's note lengths (1 step ... 2 beats or more)
    # from the music's in the same windows (`studio.ml.losses.length_divergence`); 0: off.
    # Experimental: it hurt the read music in stop 33 (models/bach-default.md).
    length_weight: float = 0.0
    # With it: 0 reads each step's onset as a probability (mean field); above 0 as the
    # voice reading does, a strike where the onset passes this share of the sounding mass.
    length_threshold: float = 0.0
    # A critic of the *read* music (experimental): each step the generator reads the
    # batch's hidden cells as generation does (`sample.complete_windows`, with the reading
    # its --init-from file names), the critic (the run's discriminator) learns to tell those
    # windows from the music, and the generator gets a REINFORCE-style signal: its one-pass
    # loss on each read window, weighted by how much more real than the batch's average the
    # critic finds that window (`reinforce_weights`; none for the rest). The reading is not
    # differentiable, so this is the only way its result reaches the weights. 0: off.
    # Needs adv_weight = fm_weight = 0 (the critic has this one job).
    read_critic_weight: float = 0.0
    # How the critic's scores weight the read windows (`reinforce_weights`).
    read_critic_signal: str = "above"
    adv_warmup: int = 500  # steps over which the adversarial weight ramps up (<= 20% of steps)
    betas: tuple[float, float] = (0.5, 0.9)
    # Runtime
    keep_last: int = 3
    threads: int = 0  # 0: leave torch's default; the GUI passes cores - 1
    amp: bool = True  # bf16 autocast on CUDA
    metrics_samples: int = 64
    log_every: int = 1
    min_batch_size: int = 2
    max_minutes: float = 0.0  # stop (and save) after this much training time; 0: no limit
    # Start the networks from a trained model's weights (a checkpoint, run folder or
    # ``default``) instead of at random; see `warm_start`.
    init_from: str | None = None
    # Knowledge distillation (Hinton et al., 2015): a trained model (checkpoint, run folder
    # or ``default``) whose generator this one learns to imitate. Its probabilities on the
    # same inputs and latent replace the music as the reconstruction targets, in from-
    # scratch windows too (a latent's answer is one target, not one of many); the
    # adversarial terms stay as set. For a smaller, faster network (preset ``small``).
    distill_from: str | None = None
    # With ``distill_from``, learn what the teacher's *refined* reading of each window (one
    # pass, then its refinement rounds, voice by voice, with the rules) ends on, so that
    # one pass of the student writes what the teacher writes in up to nine
    # (`studio.ml.sample.complete_windows`): "beliefs" are the probabilities each voice was
    # last read from (the teacher's view of it with the others finished), "notes" the
    # finished notes themselves (hard targets). "": the teacher's one-pass probabilities.
    distill_refined: str = ""
    # Share of windows whose mask hides alternate beats of some voices, everything else
    # given (`interleave_masks`): what a beat-interleaved refinement pass asks the network
    # (`VoiceDecoding.beat_rounds`), a voice's notes with its own neighbours in view.
    # A distilled run learns these windows from the music, not from its teacher, which
    # never saw such masks. 0: off, as every model before it.
    interleave_share: float = 0.0
    # Share of windows whose mask hides only the steps off the reading's onset grid (the
    # sixteenth positions) of one voice or several, everything else given
    # (`offgrid_masks`): what a sixteenths pass asks the network
    # (`VoiceDecoding.sixteenth_temperature`), whether a voice moves between two of its
    # own eighths. Learnt from the music in a distilled run, as interleaved windows are.
    # 0: off.
    offgrid_share: float = 0.0


class TrainControl:
    """Thread-safe stop/pause flags, checked by `train` between steps."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()

    def request_pause(self) -> None:
        self._running.clear()

    def request_resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, timeout: float = 0.1) -> None:
        self._running.wait(timeout)


SKIPPED_FILES_NAME = "skipped_files.tsv"

log = logging.getLogger(__name__)


@dataclass
class Started:
    total_steps: int
    device: str
    dataset_summary: dict[str, Any]
    model_summary: dict[str, Any] = field(default_factory=dict)
    start_step: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    skipped_list: str | None = None  # the run folder's full list of skipped files


@dataclass
class Notice:
    """Something the user should read that does not stop training (e.g. a resume fallback)."""

    message: str


@dataclass
class StepMetrics:
    step: int
    total: int
    g_loss: float
    d_loss: float
    gp: float
    samples_per_s: float
    elapsed: float
    recon: float = 0.0
    adv: float = 0.0
    batch_size: int = 0
    parallels: float = 0.0  # expected parallels per voice pair and step (when trained on)
    lengths: float = 0.0  # note-length divergence from the music, nats (when trained on)
    # With a read critic: its mean score on the music minus on the read windows (its own
    # measure of how far apart it finds them; 0 when it cannot tell).
    read_gap: float = 0.0


@dataclass
class Preview:
    step: int
    song: Song
    roll: np.ndarray


@dataclass
class MetricsReport:
    step: int
    generated: dict[str, float]
    reference: dict[str, float]


@dataclass
class CheckpointSaved:
    step: int
    path: str


@dataclass
class Finished:
    step: int
    reason: str  # "completed" | "stopped" | "time limit"
    checkpoint: str | None = field(default=None)


TrainEvent = Started | Notice | StepMetrics | Preview | MetricsReport | CheckpointSaved | Finished


def skip_reason_counts(skipped: list[tuple[str, str]]) -> list[tuple[str, int]]:
    """Skip reasons grouped (file names and numbers blanked), most common first."""
    counts: dict[str, int] = {}
    for name, reason in skipped:
        key = reason.replace(name, "…").replace(Path(name).name, "…")
        key = re.sub(r"'[^']*'|\"[^\"]*\"", "…", key)
        key = re.sub(r"0x[0-9a-fA-F]+|\d[\d,]*", "#", key)
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def write_skipped_list(out: Path, skipped: list[tuple[str, str]]) -> Path:
    """``out/skipped_files.tsv``: every skipped file and its reason, one per line."""
    path = out / SKIPPED_FILES_NAME
    lines = ["file\treason"] + [
        f"{name}\t{' '.join(reason.split())}" for name, reason in sorted(skipped)
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------------- masks
def task_masks(
    batch: int,
    n_tracks: int,
    n_steps: int,
    steps_per_bar: int,
    g: torch.Generator,
    bar_steps: np.ndarray | None = None,
) -> torch.Tensor:
    """Random given-cell masks ``[B, T, S]`` mixing the four tasks.

    30% from scratch, 25% continuation (first 1..bars-1 bars given), 25% harmonisation
    (a random proper subset of tracks given; half of them the top track alone, i.e. a
    melody), 20% infill (a random beat-aligned time range hidden in some tracks).
    ``bar_steps`` (per window) puts a continuation's given bars on the bar lines of each
    window's own metre; by default every window has ``steps_per_bar``.
    """
    mask = torch.zeros(batch, n_tracks, n_steps)
    kind = torch.rand(batch, generator=g)
    bars = n_steps // steps_per_bar
    beats = steps_per_bar // 4 if steps_per_bar % 4 == 0 else 1
    for b in range(batch):
        u = float(kind[b])
        if u < 0.30:
            continue
        if u < 0.55:
            bar = steps_per_bar if bar_steps is None else int(bar_steps[b])
            k = int(torch.randint(1, max(2, n_steps // bar), (1,), generator=g))
            mask[b, :, : k * bar] = 1
        elif u < 0.80:
            if n_tracks == 1:
                mask[b, :, : steps_per_bar * max(1, bars // 2)] = 1
            elif float(torch.rand(1, generator=g)) < 0.5:
                mask[b, 0] = 1
            else:
                keep = torch.rand(n_tracks, generator=g) < 0.5
                if keep.all() or not keep.any():
                    keep[int(torch.randint(0, n_tracks, (1,), generator=g))] ^= True
                    if keep.all():
                        keep[0] = False
                mask[b, keep] = 1
        else:
            unit = max(1, beats)
            units = n_steps // unit
            length = int(torch.randint(1, max(2, units // 2 + 1), (1,), generator=g))
            start = int(torch.randint(0, units - length + 1, (1,), generator=g))
            mask[b] = 1
            hidden = torch.rand(n_tracks, generator=g) < 0.7
            if not hidden.any():
                hidden[:] = True
            mask[b, hidden, start * unit : (start + length) * unit] = 0
    return mask


def interleave_masks(
    mask: torch.Tensor, share: float, beat: int, g: torch.Generator
) -> torch.Tensor:
    """Turn about ``share`` of the windows of ``mask`` (``[B, T, S]``, changed in place)
    into beat-interleaved ones: everything given but alternate beats (``beat`` steps; odd
    or even ones) of one voice (70%) or of a random set of voices. Returns which
    windows changed (``[B]`` bool)."""
    batch, n_tracks, n_steps = mask.shape
    chosen = torch.rand(batch, generator=g) < share
    slots = (torch.arange(n_steps) // max(1, beat)) % 2
    for b in torch.nonzero(chosen).flatten().tolist():
        if n_tracks == 1 or float(torch.rand(1, generator=g)) < 0.7:
            hidden = torch.zeros(n_tracks, dtype=torch.bool)
            hidden[int(torch.randint(0, n_tracks, (1,), generator=g))] = True
        else:
            hidden = torch.rand(n_tracks, generator=g) < 0.5
            if not hidden.any():
                hidden[int(torch.randint(0, n_tracks, (1,), generator=g))] = True
        parity = int(torch.randint(0, 2, (1,), generator=g))
        mask[b] = 1
        cells = hidden[:, None] & (slots == parity)[None, :]
        mask[b][cells.to(mask.device)] = 0
    return chosen


# The reading's onset grid (steps): the steps off it are where sixteenths start.
ONSET_GRID = VoiceDecoding().onset_grid


def offgrid_masks(
    mask: torch.Tensor, share: float, grid: int, g: torch.Generator, spare: torch.Tensor
) -> torch.Tensor:
    """Turn about ``share`` of the windows of ``mask`` (``[B, T, S]``, changed in place)
    whose ``spare`` flag (``[B]`` bool) is set into sixteenth ones: everything given but
    the steps off the ``grid`` (steps) of every voice (half of them) or of a random set
    of voices. Returns which windows changed (``[B]`` bool)."""
    batch, n_tracks, n_steps = mask.shape
    chosen = (torch.rand(batch, generator=g) < share) & spare
    off = torch.arange(n_steps) % max(1, grid) != 0
    for b in torch.nonzero(chosen).flatten().tolist():
        if float(torch.rand(1, generator=g)) < 0.5:
            hidden = torch.ones(n_tracks, dtype=torch.bool)
        else:
            hidden = torch.rand(n_tracks, generator=g) < 0.5
            if not hidden.any():
                hidden[int(torch.randint(0, n_tracks, (1,), generator=g))] = True
        mask[b] = 1
        cells = hidden[:, None] & off[None, :]
        mask[b][cells.to(mask.device)] = 0
    return chosen


# ----------------------------------------------------------------------------- helpers
NEW_MODULE_PREFIXES = ("phrase_bias.",)


def answer_with_given(probs: torch.Tensor, real: torch.Tensor, given: torch.Tensor) -> torch.Tensor:
    """The generator's answer as frame and onset planes ``[B, 2T, S, P]``: its probabilities
    ``probs`` (frames, then onsets given a frame) where ``given`` (the mask over both plane
    groups) is 0, the music ``real`` where it is 1."""
    t = probs.shape[1] // 2
    planes = torch.cat([probs[:, :t], probs[:, t:] * probs[:, :t]], dim=1)
    return given * real + (1 - given) * planes


def reinforce_weights(
    scores: torch.Tensor, signal: str = "above", clip: float = 2.0
) -> torch.Tensor:
    """Per-window weights of a REINFORCE step from the critic's ``scores`` of the read
    windows, at most ``clip`` either way. ``signal``:

    - ``"above"``: how far each window's score is above the batch's mean (the baseline),
      none for the windows below it. Only the windows the critic finds more real than
      average are pushed up (made likelier). The scores are not rescaled, so a critic that
      cannot tell gives a weak signal, not a strong random one.
    - ``"signed"``: the score less the mean, either way (textbook REINFORCE with a
      baseline): the windows below it are pushed down. A window's loss has no ceiling, so
      this can be gamed by making disfavoured music ever less likely (stop 34).
    - ``"even"``: every window the mean of the ``"above"`` weights. The critic chooses
      nothing: the control for what imitating one's own read music does by itself.
    """
    above = (scores - scores.mean()).clamp(0.0, clip)
    if signal == "above":
        return above
    if signal == "signed":
        return (scores - scores.mean()).clamp(-clip, clip)
    if signal == "even":
        return above.mean().expand_as(scores)
    raise ValueError(f"unknown signal {signal!r}; use one of {', '.join(READ_SIGNALS)}")


def warm_start(module: nn.Module, source: dict[str, torch.Tensor]) -> None:
    """Copy ``source`` weights into ``module``, which may take more input planes.

    A weight with more input channels than its source (the key planes a key-conditioned
    model adds after the others) gets the source's weights for the old channels and zeros
    for the new ones, so the warm-started network computes exactly what the source did
    until training teaches it to use the new inputs. Any other mismatch is an error.
    """
    own = module.state_dict()
    # Modules a conditioning adds (e.g. the generator's ``phrase_bias``) start at zero
    # by construction and keep their own initial weights.
    missing = sorted(n for n in set(own) - set(source) if not n.startswith(NEW_MODULE_PREFIXES))
    if missing:
        raise ValueError(f"the source model lacks {len(missing)} weights ({missing[0]}, ...)")
    with torch.no_grad():
        for name, target in own.items():
            if name not in source:
                continue  # a new conditioning module (above)
            weight = source[name].to(target.dtype)
            if weight.shape == target.shape:
                target.copy_(weight)
            elif name.endswith(("._u", "._v")):
                # Spectral norm's power-iteration vectors: estimates, not weights; the
                # fresh ones converge again within a few steps.
                continue
            elif (
                weight.dim() == target.dim() >= 2
                and weight.shape[0] == target.shape[0]
                and weight.shape[2:] == target.shape[2:]
                and weight.shape[1] < target.shape[1]
            ):
                target.zero_()
                target[:, : weight.shape[1]].copy_(weight)
            else:
                raise ValueError(
                    f"{name}: shape {tuple(weight.shape)} cannot seed {tuple(target.shape)}"
                )


def cadence_zone(cadence: torch.Tensor, beat: int) -> torch.Tensor:
    """``[B, S]``: 1 on the two beats from each phrase end's onset (the cadence plane
    marks the first beat; the chord is held through the second)."""
    zone = cadence.clone()
    zone[:, beat:] = torch.maximum(zone[:, beat:], cadence[:, :-beat])
    return zone


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


LR_DECAYS = ("none", "linear", "cosine")


def learning_rate_scale(config: TrainConfig, step: int) -> float:
    """Factor on both learning rates at ``step`` (0-based), from ``config.lr_decay``."""
    start = config.lr_decay_start
    if config.lr_decay == "none" or step <= start:
        return 1.0
    done = min(1.0, (step - start) / max(1, config.steps - 1 - start))
    end = config.lr_final
    if config.lr_decay == "linear":
        return 1.0 - (1.0 - end) * done
    return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * done))


def _step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + rank * 7_919 + step) % (2**63))


def oversampled_pool(metres: np.ndarray, times: int) -> np.ndarray:
    """The window indices of one epoch: every window once, and those in a metre other than
    the most common one (``metres`` ``[N, 2]``) ``times`` times in all."""
    every = np.arange(len(metres), dtype=np.int64)
    if times <= 1 or not len(metres):
        return every
    _, inverse, counts = np.unique(metres, axis=0, return_inverse=True, return_counts=True)
    minority = every[inverse.reshape(-1) != int(np.argmax(counts))]
    return np.concatenate([every, *([minority] * (times - 1))])


def _batch_indices(
    sampler: torch.utils.data.DistributedSampler, step: int, batch: int, cache: dict[int, list[int]]
) -> np.ndarray:
    """The ``step``-th batch of this rank's shard, walking epochs in sampler order."""
    per_epoch = len(sampler)
    first = step * batch
    out: list[int] = []
    pos = first
    while len(out) < batch:
        epoch, offset = divmod(pos, per_epoch)
        if epoch not in cache:
            cache.clear()
            sampler.set_epoch(epoch)
            cache[epoch] = list(iter(sampler))
        take = cache[epoch][offset : offset + batch - len(out)]
        out.extend(take)
        pos += len(take)
    return np.asarray(out, dtype=np.int64)


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if hasattr(module, "module") else module


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


@dataclass
class _State:
    step: int = 0
    batch_size: int = 32
    elapsed: float = 0.0
    last_metrics: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Holds the networks, optimizers and data of one run; `train` drives it."""

    def __init__(self, config: TrainConfig, scan: DatasetScan | None = None) -> None:
        # Options that contradict each other are refused before any data or model loads.
        if config.distill_refined not in REFINED_TARGETS:
            raise TrainingError(
                f"--distill-refined {config.distill_refined!r}: use "
                + " or ".join(t for t in REFINED_TARGETS if t)
            )
        if config.distill_refined and not config.distill_from:
            raise TrainingError("--distill-refined needs --distill-from (the model to learn from)")
        if config.read_critic_signal not in READ_SIGNALS:
            raise TrainingError(
                f"--read-critic-signal {config.read_critic_signal!r}: use "
                + ", ".join(READ_SIGNALS)
            )
        if config.read_critic_weight > 0 and (config.adv_weight > 0 or config.fm_weight > 0):
            raise TrainingError(
                "--read-critic-weight uses the critic for the read music alone: "
                "add --adv-weight 0 --fm-weight 0"
            )
        self.config = config
        self.world, self.rank, self.local_rank = _dist_info()
        self.device = resolve_device(config.device, self.local_rank)
        if config.threads > 0:
            torch.set_num_threads(config.threads)
        self.scan = scan or scan_dataset(
            config.data,
            mapping=config.mapping,
            bars=config.bars,
            steps_per_beat=config.steps_per_beat,
            cache_dir=config.cache_dir,
        )
        self.windows: WindowSet = self.scan.train_set  # type: ignore[assignment]
        if config.phrase_conditioning and not self.scan.phrase_files:
            raise TrainingError(
                "phrase conditioning needs the phrase ends of the music: this folder has no "
                "phrases.json listing them (the bundled Bach chorales have one; see "
                "studio/ml/phrases.py for the format)"
            )
        self.init_source = (
            ckpt.load_checkpoint(ckpt.resolve_model(config.init_from)) if config.init_from else None
        )
        teacher_source = (
            ckpt.load_checkpoint(ckpt.resolve_model(config.distill_from))
            if config.distill_from
            else None
        )
        # The pitch rows are the weights' coordinates: a warm start or a teacher sets them.
        rows_from: tuple[str, dict[str, Any]] | None = None
        if self.init_source is not None:
            rows_from = ("--init-from", self.init_source[1])
        elif teacher_source is not None:
            rows_from = ("--distill-from", teacher_source[1])
        lo, hi = self.scan.pitch_range
        spb = self.windows.n_steps // self.scan.bars
        self.model_cfg = self._model_config(lo, hi, spb, rows_from)
        self.transpose = (
            config.transpose
            if config.transpose is not None
            else (3 if self.scan.mapping == "bach" else 5)
        )
        if config.loss not in ("hinge", "wgan-gp"):
            raise TrainingError(f"unknown loss {config.loss!r}; use 'hinge' or 'wgan-gp'")
        if config.loss == "wgan-gp" and self.world > 1:
            raise TrainingError("wgan-gp is single-process only; use loss='hinge' with torchrun")
        torch.manual_seed(config.seed)
        self.g = Generator(self.model_cfg).to(self.device)
        self.d = Discriminator(self.model_cfg).to(self.device)
        # The reading a read critic judges: the one the warm start's file names (what its
        # model card measured), else the engine's.
        self.reading = (
            dict(self.init_source[1].get("reading") or {}) if self.init_source is not None else {}
        )
        if self.init_source is not None:
            self._warm_start(*self.init_source)
            self.init_source = None  # the weights are copied; do not hold a second set
        self.teacher_model = self._teacher(teacher_source) if teacher_source is not None else None
        self.teacher = self.teacher_model.generator if self.teacher_model is not None else None
        self.opt_g = torch.optim.Adam(self.g.parameters(), config.lr_g, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), config.lr_d, betas=config.betas)
        self.g_run: nn.Module = self.g
        self.d_run: nn.Module = self.d
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_run = DDP(self.g, device_ids=ids)
            self.d_run = DDP(self.d, device_ids=ids)
        self.pool = oversampled_pool(
            self.windows.metres_of(np.arange(len(self.windows)), tuple(self.scan.time_signature)),
            config.oversample_metres,
        )
        self.sampler = torch.utils.data.DistributedSampler(
            range(len(self.pool)),
            num_replicas=self.world,
            rank=self.rank,
            shuffle=True,
            seed=config.seed,
            drop_last=False,
        )
        self._epoch_cache: dict[int, list[int]] = {}
        self.mono_tracks = [k for k, t in enumerate(self.scan.templates) if t.get("monophonic")]
        self.state = _State(batch_size=config.batch_size)
        self.autocast = self.device.type == "cuda" and config.amp
        if self.device.type == "cuda":
            # Fixed shapes: let cuDNN pick the fastest convolution algorithms once.
            torch.backends.cudnn.benchmark = True

    # -- setup ---------------------------------------------------------------------
    def _model_config(
        self,
        lo: int,
        hi: int,
        steps_per_bar: int,
        rows_from: tuple[str, dict[str, Any]] | None = None,
    ) -> ModelConfig:
        """The run's network shape; ``rows_from`` (the option and the metadata of a model
        whose weights the run starts from or imitates) fixes its pitch rows."""
        preset_probe = preset_config(self.config.preset) if self.config.preset else None
        levels = 2 ** (len(preset_probe.g_channels) - 1) if preset_probe else 16
        lowest, n = model_pitch_window(lo, hi, margin=3, multiple=levels)
        if rows_from is not None:
            flag, source = rows_from
            lowest = int(source["data"]["lowest_pitch"])
            n = int(source["model_config"]["n_pitches"])
            if lo < lowest or hi >= lowest + n:
                raise TrainingError(
                    f"{flag}: the data spans MIDI {lo}..{hi}, outside the {n} pitch rows "
                    f"from {lowest} that model was trained on"
                )
        self.lowest_pitch = lowest
        n_steps = self.windows.n_steps
        if n_steps % levels:
            raise TrainingError(
                f"a {self.scan.bars}-bar window has {n_steps} steps; preset "
                f"{self.config.preset!r} needs a multiple of {levels}: choose another bar count"
            )
        return preset_config(
            self.config.preset,
            n_tracks=self.windows.n_tracks,
            n_steps=n_steps,
            n_pitches=n,
            steps_per_bar=steps_per_bar,
            steps_per_beat=self.scan.steps_per_beat,
            key_conditioning=self.config.key_conditioning,
            phrase_conditioning=self.config.phrase_conditioning,
            metre_planes=self.config.metre_planes,
            lowest_pitch=lowest,
        )

    def _warm_start(self, state: dict[str, Any], meta: dict[str, Any]) -> None:
        source_cfg = ModelConfig.from_dict(meta.get("model_config", {}))
        mine = self.model_cfg
        if (source_cfg.g_channels, source_cfg.n_tracks, source_cfg.n_steps) != (
            mine.g_channels,
            mine.n_tracks,
            mine.n_steps,
        ):
            raise TrainingError(
                f"--init-from {self.config.init_from}: that model has another shape "
                f"({source_cfg.n_tracks} tracks, {source_cfg.n_steps} steps, channels "
                f"{source_cfg.g_channels}); use the same preset, track layout and --bars"
            )
        try:
            warm_start(self.g, state["generator"])
            if "discriminator" in state:
                warm_start(self.d, state["discriminator"])
        except (KeyError, ValueError) as exc:
            raise TrainingError(f"--init-from {self.config.init_from}: {exc}") from exc

    def _teacher(self, source: tuple[dict[str, Any], dict[str, Any]]) -> LoadedModel:
        """The model to imitate, its generator frozen, on this run's device."""
        from studio.ml.sample import model_from_state

        state, meta = source
        flag = f"--distill-from {self.config.distill_from}"
        if "generator" not in state:
            raise TrainingError(f"{flag}: that checkpoint holds no generator weights")
        try:
            # The state was loaded for the teacher alone: its tensors become the weights.
            model = model_from_state(state["generator"], meta, self.device, owned=True)
        except CheckpointError as exc:
            raise TrainingError(f"{flag}: {exc}") from exc
        teacher = model.generator
        theirs, mine = teacher.cfg, self.model_cfg
        if (theirs.n_tracks, theirs.n_steps, theirs.steps_per_beat) != (
            mine.n_tracks,
            mine.n_steps,
            mine.steps_per_beat,
        ):
            raise TrainingError(
                f"{flag}: that model reads {theirs.n_tracks} tracks in windows of "
                f"{theirs.n_steps} steps ({theirs.steps_per_beat} per beat), this data "
                f"{mine.n_tracks} tracks in {mine.n_steps} steps ({mine.steps_per_beat} per "
                "beat); use the same track layout, --bars and --steps-per-beat"
            )
        for p in teacher.parameters():
            p.requires_grad_(False)
        teacher.eval()
        return model

    def data_meta(self) -> dict[str, Any]:
        return {
            "summary": self.scan.summary(),
            "fingerprint": self.scan.fingerprint,
            "lowest_pitch": self.lowest_pitch,
            "templates": self.scan.templates,
            "time_signature": list(self.scan.time_signature),
            # The metres the windows were in: generation in another one says so.
            "metres": [[int(v) for v in m.split("/")] for m in self.scan.metres],
            "key_conditioning": self.config.key_conditioning,
            # The keys of the (untransposed) training windows: "any key" draws from them.
            "key_counts": key_counts(self.windows.key),
            "phrase_conditioning": self.config.phrase_conditioning,
            "metre_planes": self.config.metre_planes,
            # Where this music puts its phrase ends in the bar, per metre: "a cadence
            # every N bars" lands there (`studio.ml.phrases.cadence_step`).
            "cadence_positions": dict(self.scan.cadence_positions),
            "mapping": self.scan.mapping,
            "bpm": 100.0,
            "transpose": self.transpose,
        }

    def model_summary(self) -> dict[str, Any]:
        flops = flops_per_sample(self.model_cfg)
        return {
            "preset": self.config.preset,
            "generator_params": count_parameters(self.g),
            "discriminator_params": count_parameters(self.d),
            "generator_mb": count_parameters(self.g) * 4 / 1e6,
            "gflops_generator": flops["generator"] / 1e9,
            "gflops_discriminator": flops["discriminator"] / 1e9,
            "gflops_train_step": flops["train_step"] / 1e9,
            "window": [self.model_cfg.n_steps, self.model_cfg.n_pitches],
            "windows_per_epoch": len(self.pool),  # more than the data's when oversampled
            "lowest_pitch": self.lowest_pitch,
            # A teacher's forward pass comes on top of every distilled step.
            "gflops_teacher": (
                flops_per_sample(self.teacher.cfg)["generator"] / 1e9 if self.teacher else 0.0
            ),
        }

    # -- one batch -------------------------------------------------------------------
    def make_batch(
        self, step: int, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        cfg = self.model_cfg
        g, idx, shifts = self._batch_draw(step, batch)
        roll = torch.from_numpy(self.windows.render(idx, self.lowest_pitch, cfg.n_pitches, shifts))
        real = torch.cat([(roll > 0).float(), (roll == 2).float()], dim=1)
        metres = self.windows.metres_of(idx, tuple(self.scan.time_signature))
        bar_steps = metres[:, 0] * cfg.steps_per_beat * 4 // metres[:, 1]
        mask = task_masks(len(idx), cfg.n_tracks, cfg.n_steps, cfg.steps_per_bar, g, bar_steps)
        z = torch.randn(len(idx), cfg.z_dim, generator=g)
        return real.to(self.device), mask.to(self.device), z.to(self.device), roll

    def _batch_draw(self, step: int, batch: int) -> tuple[torch.Generator, np.ndarray, np.ndarray]:
        """The step's generator (after the transposition draw), windows and transpositions."""
        g = _step_generator(self.config.seed, self.rank, step)
        idx = self.pool[_batch_indices(self.sampler, step, batch, self._epoch_cache)]
        uniform = torch.rand(len(idx), generator=g).numpy()
        shifts = self.windows.random_shifts(
            idx, self.transpose, self.lowest_pitch, self.model_cfg.n_pitches, uniform
        )
        return g, idx, shifts

    def batch_conditions(self, step: int, batch: int) -> dict[str, torch.Tensor]:
        """The network's conditions for ``make_batch(step, batch)``'s windows (the same
        draws, so they match it): ``metres`` ``[B, 2]``, ``keys`` ``[B]`` (transposed
        with the windows) and, for a phrase-conditioned model, ``phrases``
        ``[B, 2, S]``, some of them hidden as "unknown" (`phrases.UNKNOWN_SHARE`)."""
        _, idx, shifts = self._batch_draw(step, batch)
        metres = self.windows.metres_of(idx, tuple(self.scan.time_signature))
        keys = self.windows.keys_of(idx, shifts)
        cond = {
            "metres": torch.from_numpy(metres).to(self.device),
            "keys": torch.from_numpy(keys).to(self.device),
        }
        if self.model_cfg.phrase_conditioning:
            marks = self.windows.phrases_of(idx)
            # Its own stream: the batch's other draws stay what they were without phrases.
            hide = torch.rand(
                len(idx), generator=_step_generator(self.config.seed + 1, self.rank, step)
            )
            marks[hide.numpy() < UNKNOWN_SHARE] = 0.0
            cond["phrases"] = torch.from_numpy(marks).to(self.device)
        return cond

    def train_step(self, step: int) -> dict[str, float]:
        cfg, c = self.model_cfg, self.config
        # Set every step (a resumed optimizer's state carries the rate it was saved with).
        scale = learning_rate_scale(c, step)
        for opt, base in ((self.opt_g, c.lr_g), (self.opt_d, c.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * scale
        real, mask, z, roll = self.make_batch(step, self.state.batch_size)
        interleaved = torch.zeros(len(real), dtype=torch.bool)
        if c.interleave_share > 0:  # its own draws: the batch's others stay as they were
            g = _step_generator(c.seed + 3, self.rank, step)
            interleaved = interleave_masks(mask, c.interleave_share, cfg.steps_per_beat, g)
        if c.offgrid_share > 0:  # its own draws too; never a window already interleaved
            g = _step_generator(c.seed + 4, self.rank, step)
            spare = ~interleaved
            interleaved = interleaved | offgrid_masks(mask, c.offgrid_share, ONSET_GRID, g, spare)
        interleaved = interleaved.to(self.device)
        cond = self.batch_conditions(step, len(real))
        cond2 = {k: torch.cat([v, v]) for k, v in cond.items()}
        t = cfg.n_tracks
        m = mask[:, :, :, None].expand(-1, -1, -1, cfg.n_pitches)
        m2 = m.repeat(1, 2, 1, 1)
        amp = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if self.autocast
            else contextlib.nullcontext()
        )
        with amp:
            logits = self.g_run(z, real, mask, **cond)
            if self.teacher is not None and not c.distill_refined:
                with torch.no_grad():
                    taught = torch.sigmoid(self.teacher(z, real, mask, **cond).float())
        if c.distill_refined:
            notes, beliefs = self._refined_targets(step, roll, mask, z, cond)
            if c.distill_refined == "notes":
                # The teacher's finished music is the data, scored as music is (but not
                # where the mask is interleaved: see below).
                real = torch.where(interleaved[:, None, None, None], real, notes)
            else:
                taught = beliefs
        if self.teacher is not None and c.distill_refined != "notes" and interleaved.any():
            # The teacher never saw interleaved masks: the music itself is the target there.
            taught = torch.where(interleaved[:, None, None, None], real, taught)
        logits = logits.float()
        fake = answer_with_given(torch.sigmoid(logits), real, m2)
        read = self._read_windows(step, roll, mask, z, cond) if c.read_critic_weight > 0 else None

        # D step(s): none when no generator term listens to the discriminator.
        d_module = _unwrap(self.d_run)
        gp_value = torch.zeros((), device=self.device)
        adversarial = c.adv_weight > 0 or c.fm_weight > 0
        d_loss = torch.zeros((), device=self.device)
        # What the critic learns to tell from the music: the one-pass answer, or the read one.
        negatives = fake.detach() if read is None else read
        for _ in range(max(1, c.n_critic) if adversarial or read is not None else 0):
            self.opt_d.zero_grad(set_to_none=True)
            with amp:
                both = torch.cat([real, negatives])
                scores = self.d_run(both, torch.cat([mask, mask]), **cond2).float()
            d_real, d_fake = scores[: len(real)], scores[len(real) :]
            if c.loss == "hinge":
                d_loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
            else:
                d_loss = d_fake.mean() - d_real.mean()
                alpha = torch.rand(len(real), 1, 1, 1, device=self.device)
                mixed = (alpha * real + (1 - alpha) * negatives).requires_grad_(True)
                out = d_module(mixed, mask, **cond)
                (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
                gp_value = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
                d_loss = d_loss + c.gp_weight * gp_value
            if not torch.isfinite(d_loss):
                raise NonFiniteLossError(f"discriminator loss is {float(d_loss.detach())}")
            d_loss.backward()
            self.opt_d.step()

        # G step: the D pass goes through the unwrapped module (D is not being updated).
        for p in self.d.parameters():
            p.requires_grad_(False)
        try:
            self.opt_g.zero_grad(set_to_none=True)
            adv = fm = reinforce = read_gap = torch.zeros((), device=self.device)
            if read is not None:
                with torch.no_grad(), amp:
                    read_scores = d_module(read, mask, **cond).float().flatten()
                    real_scores = d_module(real, mask, **cond).float().flatten()
                read_gap = real_scores.mean() - read_scores.mean()
                nll = self._window_nll(logits, read, mask)
                weights = reinforce_weights(read_scores, c.read_critic_signal)
                reinforce = (weights * nll).mean()
            if adversarial:
                with amp:
                    g_scores, feat_fake = d_module(fake, mask, return_features=True, **cond)
                    with torch.no_grad():
                        _, feat_real = d_module(real, mask, return_features=True, **cond)
                adv = -g_scores.float().mean()
                fm = (feat_fake.float().mean(0) - feat_real.float().mean(0)).abs().mean()
            hidden = (1 - m2).float()
            scratch = (mask.flatten(1).sum(dim=1) == 0).float()
            scratch_recon = 1.0 if self.teacher is not None else c.scratch_recon
            weight = hidden * (1 - scratch * (1 - scratch_recon))[:, None, None, None]
            if "phrases" in cond and c.cadence_weight != 1:
                zone = cadence_zone(cond["phrases"][:, 1], cfg.steps_per_beat)
                weight = weight * (1 + (c.cadence_weight - 1) * zone[:, None, :, None])
            soft = self.teacher is not None and c.distill_refined != "notes"
            target = taught if soft else real
            bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            recon = (bce * weight).sum() / weight.sum().clamp_min(1.0)
            mono_ce = self._mono_ce(
                logits[:, :t],
                real[:, :t],
                mask,
                weight[:, :t, :, 0],
                taught[:, :t] if soft else None,
            )
            parallels = self._parallels(logits[:, :t], real[:, :t], mask)
            lengths = self._lengths(fake, real, mask)
            ramp = min(1.0, (step + 1) / max(1.0, min(c.adv_warmup, 0.2 * c.steps)))
            g_loss = (
                ramp * (c.adv_weight * adv + c.fm_weight * fm)
                + c.recon_weight * recon
                + c.mono_ce_weight * mono_ce
                + c.voice_leading_weight * parallels
                + c.length_weight * lengths
                + ramp * c.read_critic_weight * reinforce
            )
            if not torch.isfinite(g_loss):
                raise NonFiniteLossError(f"generator loss is {float(g_loss.detach())}")
            g_loss.backward()
            self.opt_g.step()
        finally:
            for p in self.d.parameters():
                p.requires_grad_(True)
        return {
            "g_loss": float(g_loss.detach()),
            "d_loss": float(d_loss.detach()),
            "gp": float(gp_value.detach()),
            "recon": float(recon.detach()),
            "mono_ce": float(mono_ce.detach()),
            "adv": float(adv.detach()),
            "parallels": float(parallels.detach()),
            "lengths": float(lengths.detach()),
            "reinforce": float(reinforce.detach()),
            "read_gap": float(read_gap.detach()),
        }

    def _read_windows(
        self,
        step: int,
        roll: torch.Tensor,
        mask: torch.Tensor,
        z: torch.Tensor,
        cond: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """Frame and onset planes of the batch's hidden cells as the generator, as it is
        now, writes them with its reading (the given cells are the music's)."""
        model = self.loaded_model(self.reading)
        return self._completed(model, self.config.seed + 5, step, roll, mask, z, cond)[0]

    def _window_nll(
        self, logits: torch.Tensor, planes: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """``[B]``: the one-pass loss of each window against ``planes`` in its hidden cells,
        as the training loss scores the music (cell-wise BCE, and each monophonic voice's
        pitch cross-entropy where it sounds): the window's negative log-likelihood, up to
        constants, under the pass that reading starts from."""

        def per_window(loss: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
            return (loss * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1.0)

        p = self.model_cfg.n_pitches
        hidden = (1 - mask.float())[:, :, :, None].expand(-1, -1, -1, p).repeat(1, 2, 1, 1)
        nll = per_window(
            F.binary_cross_entropy_with_logits(logits, planes, reduction="none"), hidden
        )
        mono = self.mono_tracks
        if mono and self.config.mono_ce_weight > 0:
            frames = planes[:, mono]
            sounding = (frames.sum(dim=-1) > 0).float() * (1 - mask[:, mono].float())
            ce = F.cross_entropy(
                logits[:, mono].flatten(0, 2), frames.argmax(dim=-1).flatten(), reduction="none"
            ).view_as(sounding)
            nll = nll + self.config.mono_ce_weight * per_window(ce, sounding)
        return nll

    def _refined_targets(
        self,
        step: int,
        roll: torch.Tensor,
        mask: torch.Tensor,
        z: torch.Tensor,
        cond: dict[str, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame and onset planes of the teacher's refined completion of the batch (its
        given cells are the real music's) and the probabilities each track was last read
        from."""
        assert self.teacher_model is not None
        seed = self.config.seed + 2
        return self._completed(self.teacher_model, seed, step, roll, mask, z, cond)

    def _completed(
        self,
        model: Any,
        seed: int,
        step: int,
        roll: torch.Tensor,
        mask: torch.Tensor,
        z: torch.Tensor,
        cond: dict[str, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``model``'s default reading of the batch's hidden cells (`complete_windows`,
        its draws from ``seed`` and the step): the planes it writes and its beliefs."""
        from studio.ml.sample import complete_windows, planes_from_roll

        noise = _step_generator(seed, self.rank, step)
        with torch.no_grad():
            done, beliefs = complete_windows(
                model, roll.numpy(), mask.bool().cpu().numpy(), z, cond, noise
            )
        return planes_from_roll(done).to(self.device), beliefs.to(self.device)

    def _parallels(
        self, frame_logits: torch.Tensor, frames: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Expected parallel fifths/octaves between adjacent monophonic voices, with the
        given cells as they are and the generator's probabilities elsewhere."""
        mono = self.mono_tracks
        if len(mono) < 2 or self.config.voice_leading_weight == 0:
            return torch.zeros((), device=frame_logits.device)
        given = mask[:, mono, :, None].to(frame_logits.dtype)
        probs = voice_pitch_probs(frame_logits[:, mono])
        return expected_parallels(given * frames[:, mono] + (1 - given) * probs).mean()

    def _lengths(self, fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Divergence of the monophonic voices' note lengths in the hidden cells (the given
        music around them, the generator's probabilities there) from the music's."""
        if not self.mono_tracks or self.config.length_weight == 0:
            return torch.zeros((), device=fake.device)
        return length_divergence(*self.note_lengths(fake, real, mask, self.config.length_threshold))

    def note_lengths(
        self, fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor, threshold: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``[V, 2 beats]`` note-length histograms of the monophonic voices' notes starting
        in the hidden cells of ``mask``: the answer ``fake`` (`answer_with_given`)'s and
        the music ``real``'s (`studio.ml.losses.note_length_histogram`)."""
        mono = self.mono_tracks
        t, longest = self.model_cfg.n_tracks, 2 * self.model_cfg.steps_per_beat
        onset_rows = [t + k for k in mono]
        starts = 1 - mask[:, mono].to(fake.dtype)
        read = {"threshold": threshold}
        ours = note_length_histogram(fake[:, mono], fake[:, onset_rows], starts, longest, **read)
        with torch.no_grad():
            theirs = note_length_histogram(
                real[:, mono], real[:, onset_rows], starts, longest, **read
            )
        return ours, theirs

    def _mono_ce(
        self,
        frame_logits: torch.Tensor,
        frames: torch.Tensor,
        mask: torch.Tensor,
        step_weight: torch.Tensor,
        taught: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Cross-entropy of the sounding pitch over the pitch axis, for monophonic tracks.

        BCE treats every pitch row alone; a voice sings one pitch, so a softmax over the
        rows teaches the generator to put its mass on one pitch, which is exactly what
        the argmax decoding of a voice reads. ``taught`` (a teacher's frame probabilities)
        makes the target the teacher's pitch distribution of each step (a soft target),
        on every step where the teacher expects the voice to sound.
        """
        mono = self.mono_tracks
        if not mono or self.config.mono_ce_weight == 0:
            return torch.zeros((), device=frame_logits.device)
        logits = frame_logits[:, mono]  # [B, M, S, P]
        if taught is not None:
            mass = taught[:, mono]
            sounding = mass.sum(dim=-1).clamp(max=1.0)  # expected "the voice sounds"
            target_dist = mass / mass.sum(dim=-1, keepdim=True).clamp_min(1e-6)
            ce = -(target_dist * F.log_softmax(logits, dim=-1)).sum(dim=-1)
            w = step_weight[:, mono] * sounding
            return (ce * w).sum() / w.sum().clamp_min(1.0)
        target_frames = frames[:, mono]
        sounding = target_frames.sum(dim=-1) > 0  # [B, M, S]
        target = target_frames.argmax(dim=-1)
        ce = F.cross_entropy(logits.flatten(0, 2), target.flatten(), reduction="none")
        w = step_weight[:, mono].flatten() * sounding.flatten().float()
        return (ce * w).sum() / w.sum().clamp_min(1.0)

    # -- checkpoints -------------------------------------------------------------------
    def checkpoint_meta(self) -> dict[str, Any]:
        return {
            "arch_version": ARCH_VERSION,
            "model_config": self.model_cfg.to_dict(),
            "train_config": dataclasses.asdict(self.config),
            "data": self.data_meta(),
            "step": self.state.step,
            "batch_size": self.state.batch_size,
            "elapsed": self.state.elapsed,
            "metrics": self.state.last_metrics,
            "world_size": self.world,
            # How generation reads this model unless asked otherwise (`sample.own_voicing`).
            **(
                {"reading": {"refine_rounds": STUDENT_REFINE_ROUNDS}}
                if self.config.distill_refined
                else {}
            ),
        }

    def save(self) -> Path:
        path = Path(self.config.out_dir) / ckpt.CHECKPOINT_DIR / f"step_{self.state.step:07d}.pt"
        tensors: dict[str, Any] = {
            "generator": self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng_cpu": torch.get_rng_state(),
        }
        ckpt.save_checkpoint(path, tensors, self.checkpoint_meta())
        ckpt.prune_checkpoints(self.config.out_dir, self.config.keep_last)
        return path

    def save_generator(self) -> Path:
        path = Path(self.config.out_dir) / ckpt.GENERATOR_FILE
        return ckpt.save_checkpoint(
            path, {"generator": self.g.state_dict()}, self.checkpoint_meta()
        )

    def load(self, path: Path) -> None:
        state, meta = ckpt.load_checkpoint(path)
        try:
            same = ModelConfig.from_dict(meta["model_config"]) == self.model_cfg
        except (KeyError, TypeError):
            same = False
        if not same:
            raise TrainingError(
                f"{path} was trained with another model shape or preset "
                f"({meta.get('train_config', {}).get('preset')!r}); use a new --out folder"
            )
        try:
            self.g.load_state_dict(state["generator"])
            self.d.load_state_dict(state["discriminator"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise TrainingError(f"{path}: cannot resume from this checkpoint ({exc})") from exc
        if "rng_cpu" in state:
            torch.set_rng_state(state["rng_cpu"])
        self.state.step = int(meta["step"])
        self.state.batch_size = int(meta.get("batch_size", self.config.batch_size))
        self.state.elapsed = float(meta.get("elapsed", 0.0))
        self.state.last_metrics = dict(meta.get("metrics", {}))

    # -- previews and metrics --------------------------------------------------------
    def loaded_model(self, reading: dict[str, Any] | None = None) -> Any:
        """This run's generator as generation reads it: with ``reading`` (as a file's
        ``meta["reading"]`` names one) where given, else as its checkpoint would be read."""
        from studio.ml.sample import LoadedModel, own_voicing

        meta = self.checkpoint_meta()
        if reading is not None:
            meta = {**meta, "reading": reading}
        return LoadedModel(
            self.g,
            self.model_cfg,
            self.lowest_pitch,
            self.scan.templates,
            tuple(self.scan.time_signature),
            100.0,
            meta,
            voicing=own_voicing(meta),
        )

    def preview(self) -> Preview:
        from studio.ml.sample import generate_rolls, roll_to_song

        model = self.loaded_model()
        self.g.eval()
        try:
            roll = generate_rolls(model, 1, seed=self.config.seed + 12345)[0]
        finally:
            self.g.train()
        song = roll_to_song(
            roll,
            model.spec,
            480,
            model.track_templates(),
            100.0,
            model.time_signature,
            f"Preview at step {self.state.step}",
            90,
        )
        return Preview(self.state.step, song, roll)

    def reference_metrics(self) -> dict[str, float]:
        from studio.ml.metrics import evaluate_rolls

        held = self.scan.heldout_set
        windows = held if held is not None and len(held) else self.windows
        n = min(len(windows), 512)
        idx = np.linspace(0, len(windows) - 1, n).astype(np.int64)
        rolls = windows.render(idx, self.lowest_pitch, self.model_cfg.n_pitches)
        return evaluate_rolls(
            rolls, self.model_cfg.steps_per_bar, self.lowest_pitch, self.scan.mapping
        )

    def generated_metrics(self) -> dict[str, float]:
        from studio.ml.metrics import evaluate_rolls
        from studio.ml.sample import generate_rolls

        self.g.eval()
        try:
            rolls = generate_rolls(self.loaded_model(), self.config.metrics_samples, seed=777)
        finally:
            self.g.train()
        return evaluate_rolls(
            rolls, self.model_cfg.steps_per_bar, self.lowest_pitch, self.scan.mapping
        )


# ----------------------------------------------------------------------------- the loop
def _init_distributed(device_kind: str) -> bool:
    world, _, _ = _dist_info()
    if world <= 1:
        return False
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
    return True


def train(config: TrainConfig, control: TrainControl | None = None) -> Iterator[TrainEvent]:
    """Run (or resume) training, yielding events; see the module docstring."""
    control = control or TrainControl()
    if config.steps < 1:
        raise TrainingError(f"steps must be >= 1, got {config.steps}")
    if config.batch_size < 1:
        raise TrainingError(f"batch size must be >= 1, got {config.batch_size}")
    for name in ("lr_g", "lr_d"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0):
            raise TrainingError(f"learning rate {name} must be a positive number, got {value}")
    if config.lr_decay not in LR_DECAYS:
        raise TrainingError(
            f"lr_decay must be one of {', '.join(LR_DECAYS)}, got {config.lr_decay!r}"
        )
    if not 0 < config.lr_final <= 1 or config.lr_decay_start < 0:
        raise TrainingError(
            f"need 0 < lr_final <= 1 and lr_decay_start >= 0, got {config.lr_final} and "
            f"{config.lr_decay_start}"
        )
    out = Path(config.out_dir)
    existing = ckpt.latest_checkpoint(out)
    if existing is not None and not config.resume:
        raise TrainingError(
            f"{out} already holds checkpoints (latest {existing.name}); pass resume "
            "(--resume) to continue that run, or choose another output folder"
        )
    device_kind = resolve_device(config.device, _dist_info()[2]).type
    distributed = _init_distributed(device_kind)
    try:
        yield from _train(config, control, out, existing is not None and config.resume)
    finally:
        if distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def _resume_point(out: Path, is_main: bool) -> tuple[Path, list[str]]:
    """The newest checkpoint that loads, and notices about damaged newer ones."""
    good, notes = ckpt.newest_good_checkpoint(out, set_aside=is_main)
    if good is None:
        raise TrainingError(
            f"cannot resume {out}: none of its checkpoints is usable ({'; '.join(notes)})"
        )
    if notes:
        notes.append(f"resuming from {good.name} (step {ckpt.step_of(good)}) instead")
    return good, notes


def _train(
    config: TrainConfig, control: TrainControl, out: Path, resume: bool
) -> Iterator[TrainEvent]:
    trainer = Trainer(config)
    is_main = trainer.rank == 0
    notices: list[str] = []
    resume_from: Path | None = None
    if is_main:
        # Killed saves of an earlier run leave temp files; its checkpoints are kept.
        for folder in (out, out / ckpt.CHECKPOINT_DIR):
            for removed in clean_stale_temps(folder):
                log.info("removed %s, left by an interrupted save", removed)
    if resume:
        resume_from, notices = _resume_point(out, is_main)
        trainer.load(resume_from)
    skipped_list: Path | None = None
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            out / "config.json", json.dumps(trainer.checkpoint_meta(), indent=2, default=str)
        )
        if trainer.scan.skipped:
            skipped_list = write_skipped_list(out, trainer.scan.skipped)
    metrics_log = (out / "metrics.jsonl").open("a", encoding="utf-8") if is_main else None
    state = trainer.state
    try:
        yield Started(
            config.steps,
            _device_label(trainer.device),
            trainer.scan.summary(),
            trainer.model_summary(),
            state.step,
            list(trainer.scan.skipped),
            str(skipped_list) if skipped_list else None,
        )
        for message in notices if is_main else []:
            yield Notice(message)
        reference: dict[str, float] | None = None
        last_ckpt: Path | None = resume_from
        rate = 0.0
        while state.step < config.steps:
            # Between steps (never inside one): wait while the user pauses, or while a
            # generation job of this process has the CPU (studio.ml.compute).
            while not control.stopping and (control.paused or compute.generation_running()):
                if control.paused:
                    control.wait_while_paused(0.1)
                else:
                    compute.wait_for_generation(lambda: control.stopping or control.paused)
            if control.stopping:
                break
            if config.max_minutes > 0 and state.elapsed >= 60 * config.max_minutes:
                break
            t0 = time.perf_counter()
            try:
                metrics = trainer.train_step(state.step)
            except NonFiniteLossError as exc:
                where = f"; last good checkpoint: {last_ckpt}" if last_ckpt else ""
                raise NonFiniteLossError(
                    f"training diverged at step {state.step + 1}: {exc}; the step was discarded "
                    f"and training stopped{where}. Try a lower learning rate."
                ) from exc
            except Exception as exc:
                if not _is_oom(exc):
                    raise
                _free_memory(trainer.device)
                if trainer.world > 1 or state.batch_size // 2 < config.min_batch_size:
                    raise OutOfMemoryTrainingError(
                        f"{trainer.device.type} ran out of memory at batch size "
                        f"{state.batch_size}; try --batch-size {max(1, state.batch_size // 2)}, "
                        "the 'tiny' preset, or --device cpu"
                    ) from exc
                state.batch_size //= 2
                continue
            dt = time.perf_counter() - t0
            state.elapsed += dt
            state.step += 1
            state.last_metrics = metrics
            inst = state.batch_size * trainer.world / max(dt, 1e-9)
            rate = inst if rate == 0 else 0.9 * rate + 0.1 * inst
            event = StepMetrics(
                state.step,
                config.steps,
                metrics["g_loss"],
                metrics["d_loss"],
                metrics["gp"],
                rate,
                state.elapsed,
                metrics["recon"],
                metrics["adv"],
                state.batch_size,
                metrics.get("parallels", 0.0),
                metrics.get("lengths", 0.0),
                metrics.get("read_gap", 0.0),
            )
            if metrics_log is not None and state.step % max(1, config.log_every) == 0:
                line = json.dumps({"type": "step", **dataclasses.asdict(event)})
                metrics_log.write(line + "\n")
            yield event
            if not is_main:
                continue
            if config.preview_every and state.step % config.preview_every == 0:
                yield trainer.preview()
            if config.metrics_every and state.step % config.metrics_every == 0:
                reference = reference or trainer.reference_metrics()
                generated = trainer.generated_metrics()
                if metrics_log is not None:
                    metrics_log.write(
                        json.dumps({"type": "metrics", "step": state.step, **generated}) + "\n"
                    )
                    metrics_log.flush()
                yield MetricsReport(state.step, generated, reference)
            if config.checkpoint_every and state.step % config.checkpoint_every == 0:
                last_ckpt = trainer.save()
                yield CheckpointSaved(state.step, str(last_ckpt))
        if state.step >= config.steps:
            reason = "completed"
        elif control.stopping:
            reason = "stopped"
        else:
            reason = "time limit"
        final: Path | None = last_ckpt
        if is_main and (last_ckpt is None or ckpt.step_of(last_ckpt) != state.step):
            final = trainer.save()
            yield CheckpointSaved(state.step, str(final))
        if is_main:
            trainer.save_generator()
        yield Finished(state.step, reason, str(final) if final else None)
    finally:
        if metrics_log is not None:
            metrics_log.close()


def _free_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def _device_label(device: torch.device) -> str:
    from studio.ml.devices import device_label

    return device_label(device)


def dry_run_summary(config: TrainConfig) -> dict[str, Any]:
    """Parameters and FLOPs of the configured model on the configured data (no training)."""
    trainer = Trainer(config)
    summary = trainer.model_summary()
    summary["dataset"] = trainer.scan.summary()
    summary["device"] = _device_label(trainer.device)
    summary["samples_per_epoch"] = len(trainer.windows)
    summary["steps_per_epoch"] = math.ceil(len(trainer.windows) / max(1, config.batch_size))
    return summary
