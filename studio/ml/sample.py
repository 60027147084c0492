"""Sampling: turn the generator's probabilities into Songs for every task.

All tasks are one call of the same network with a different mask: ``generate`` (empty
mask), ``continue_`` (the primer's bars given), ``harmonize`` (some tracks given for the
whole song) and ``infill`` (everything outside a time range given). Songs longer than
the model's window are covered by overlapping windows: each window is given the
previous window's last bars, so the music flows on. All variations are one batch.

Decoding: hard threshold (``temperature=0``) or Bernoulli sampling with a temperature.
Monophonic tracks (the Bach voices) keep one pitch per step and follow the
voice-leading rules (`studio.ml.voicing`); ``model.voicing`` holds those settings and
the number of refinement rounds, in which each voice is redrawn given all the others.
``min_note_steps`` removes fragments shorter than that (a monophonic voice holds its
previous note instead).

``PIANOLA_INFERENCE_PRECISION=bf16`` runs the network on a CPU in bfloat16 (autocast, a
channels-last copy of the weights): about twice as fast where the CPU has bfloat16
units (AVX512-BF16/AMX), but the notes are not bit-identical to float32's. Off by
default; see bench/bench_ml.py for its speed and the quality measurements it needs.
"""

from __future__ import annotations

import copy
import math
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from studio.core.pianoroll import HOLD, OFF, ONSET, RollSpec, roll_to_song, song_to_roll
from studio.core.song import Notes, Song, Track
from studio.ml.checkpoint import load_checkpoint, resolve_model
from studio.ml.errors import CheckpointError, MLError
from studio.ml.generation import REFINE_RANGE
from studio.ml.metre import Metre, bar_steps, default_metre_of
from studio.ml.metrics import note_runs, top_pitch
from studio.ml.models import Generator, ModelConfig
from studio.ml.phrases import DEFAULT_EVERY_BARS, cadence_plan, cadence_step
from studio.ml.voicing import FixedVoice, Noise, VoiceDecoding, decode_voice, uniform, voice_order

# Sampling noise of variation ``seed`` comes from seed + NOISE_OFFSET: a stream apart from
# every seed's latent, so no variation's noise is another variation's latent.
NOISE_OFFSET = 2**40
PassCallback = Callable[[int, int], None]  # (passes done, passes in all), before each pass
# On a CPU the network sees at most this many variations at a time, with ``on_pass`` asked
# between them, so a Cancel waits for half a 16-variation pass, not all of it (chunks of 4
# cost 25% more time; a variation's result does not depend on the chunk it is in).
CPU_FORWARD_CHUNK = 8


class _FirstPassMemo:
    """The network's answer to the first pass of the latest `run_windows` call.

    The generation service drafts a batch (one pass per window), then refines it from
    scratch: the refined run's first pass has the very same inputs as the draft's, so
    it is answered from here instead of the network (one pass of the 30 of 8 x 8 bars).
    Inputs are compared exactly, and the weights by their in-place version counters.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[Any, tuple[int, ...], list[torch.Tensor], torch.Tensor] | None = None

    @staticmethod
    def _versions(generator: Generator) -> tuple[int, ...]:
        # Inference tensors (made inside torch.inference_mode) keep no version counter.
        return tuple(
            -1 if t.is_inference() else t._version
            for t in generator.state_dict(keep_vars=True).values()
        )

    def get(self, generator: Generator, inputs: list[torch.Tensor]) -> torch.Tensor | None:
        with self._lock:
            entry = self._entry
        if entry is None or entry[0]() is not generator:
            return None
        _, versions, seen, logits = entry
        same = len(seen) == len(inputs) and all(
            a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b))
            for a, b in zip(seen, inputs, strict=False)
        )
        return logits if same and versions == self._versions(generator) else None

    def put(self, generator: Generator, inputs: list[torch.Tensor], logits: torch.Tensor) -> None:
        kept = [t.clone() for t in inputs]  # the caller may reuse its tensors
        entry = (weakref.ref(generator), self._versions(generator), kept, logits)
        with self._lock:
            self._entry = entry

    def clear(self) -> None:
        with self._lock:
            self._entry = None


FIRST_PASS = _FirstPassMemo()
_BF16_COPIES: weakref.WeakKeyDictionary[Generator, tuple[tuple[int, ...], Generator]] = (
    weakref.WeakKeyDictionary()
)


def inference_precision(device: torch.device) -> str:
    """ "bfloat16" when ``PIANOLA_INFERENCE_PRECISION`` asks for it on a CPU that has it,
    else "float32" (the default: bit-identical notes)."""
    wanted = os.environ.get("PIANOLA_INFERENCE_PRECISION", "").strip().lower()
    if wanted not in {"bf16", "bfloat16"} or device.type != "cpu":
        return "float32"
    return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"


def _network(generator: Generator, precision: str) -> Generator:
    """The module to run: the generator itself, or its channels-last copy for bfloat16
    (made once per generator and weight version)."""
    if precision == "float32":
        return generator
    versions = _FirstPassMemo._versions(generator)
    kept = _BF16_COPIES.get(generator)
    if kept is None or kept[0] != versions:
        with torch.inference_mode(False):  # ordinary tensors, with version counters
            fast = copy.deepcopy(generator).to(memory_format=torch.channels_last).eval()
        kept = (versions, fast)
        _BF16_COPIES[generator] = kept
    return kept[1]


def _forward(
    network: Generator, precision: str, z: torch.Tensor, ctx: torch.Tensor, m: torch.Tensor, **cond
) -> torch.Tensor:
    if precision == "float32":
        return network(z, ctx, m, **cond)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ctx = ctx.contiguous(memory_format=torch.channels_last)
        return network(z, ctx, m, **cond).float()


@dataclass
class LoadedModel:
    """A generator with everything needed to turn its output into Songs."""

    generator: Generator
    config: ModelConfig
    lowest_pitch: int
    templates: list[dict[str, Any]]
    time_signature: tuple[int, int] = (4, 4)
    bpm: float = 100.0
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    voicing: VoiceDecoding = field(default_factory=VoiceDecoding)

    @property
    def spec(self) -> RollSpec:
        return RollSpec(self.config.steps_per_beat, self.lowest_pitch, self.config.n_pitches)

    @property
    def monophonic(self) -> list[bool]:
        return [bool(t.get("monophonic")) for t in self.templates]

    @property
    def bars(self) -> int:
        return self.config.n_steps // self.config.steps_per_bar

    @property
    def trained_metres(self) -> list[Metre]:
        """The metres the model's training windows were in (older files: their one metre)."""
        seen = self.meta.get("data", {}).get("metres") if isinstance(self.meta, dict) else None
        if seen:
            return [(int(m[0]), int(m[1])) for m in seen]
        return [tuple(self.time_signature)]  # type: ignore[list-item]

    @property
    def key_conditioned(self) -> bool:
        """True when the network is told the key (engine v2 models trained with keys)."""
        return bool(self.config.key_conditioning)

    @property
    def phrase_conditioned(self) -> bool:
        """True when the network is told where phrases end (a cadence plan)."""
        return bool(self.config.phrase_conditioning)

    def phrase_plan(
        self, length: int, metre: Metre | None, every_bars: int | None
    ) -> np.ndarray | None:
        """``[PHRASE_PLANES, length]`` marks for a cadence every ``every_bars`` bars (None:
        the default, `phrases.DEFAULT_EVERY_BARS`; 0: none, the network phrases on its
        own), or None for a model without phrase conditioning."""
        if not self.phrase_conditioned:
            return None
        every = DEFAULT_EVERY_BARS if every_bars is None else int(every_bars)
        cfg = self.config
        the_metre = tuple(metre) if metre is not None else tuple(self.time_signature)
        positions = (
            self.meta.get("data", {}).get("cadence_positions", {})
            if isinstance(self.meta, dict)
            else {}
        )
        position = cadence_step(positions, the_metre, cfg.steps_per_beat)  # type: ignore[arg-type]
        return cadence_plan(length, self.bar_steps(metre), every, position, cfg.steps_per_beat)

    def bar_steps(self, metre: Metre | None = None) -> int:
        """Steps in one bar of ``metre`` (default: the model's own metre)."""
        if metre is None:
            return self.config.steps_per_bar
        return bar_steps(tuple(metre), self.config.steps_per_beat)  # type: ignore[arg-type]

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def track_templates(self) -> list[Track]:
        return [
            Track(t["name"], int(t["program"]), bool(t.get("is_drum", False)), t["colour"])
            for t in self.templates
        ]


def song_metre(song: Song, tick: int = 0) -> Metre:
    """The song's time signature at ``tick``: the metre music written there follows."""
    ts = song.time_signature_at(tick)
    return (ts.numerator, ts.denominator)


def _conditions(
    model: LoadedModel, n: int, metre: Metre | None, key: int | None
) -> dict[str, torch.Tensor]:
    """The generator's metre/key inputs for a batch of ``n`` (none: its fixed bar)."""
    cond: dict[str, torch.Tensor] = {}
    if metre is not None:
        cond["metres"] = torch.tensor([list(metre)] * n, dtype=torch.long)
    if model.key_conditioned:
        cond["keys"] = torch.full((n,), -1 if key is None else int(key), dtype=torch.long)
    return cond


def model_from_state(
    g_state: dict[str, Any],
    meta: dict[str, Any],
    device: str | torch.device = "cpu",
    *,
    owned: bool = False,
) -> LoadedModel:
    """A model from generator weights and checkpoint metadata. ``owned``: ``g_state``
    was loaded for this model alone, so its float32 tensors become the parameters
    (no random initialisation, no copy: 0.15 s less per load on a small CPU)."""
    try:
        cfg = ModelConfig.from_dict(meta["model_config"])
        data = meta["data"]
        assign = owned and all(
            not isinstance(v, torch.Tensor) or v.dtype == torch.float32 for v in g_state.values()
        )
        if assign:
            with torch.device("meta"):
                generator = Generator(cfg)
        else:
            generator = Generator(cfg)
        generator.load_state_dict(g_state, assign=assign)
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint does not match this model layout ({exc})") from exc
    generator.to(device).eval()
    return LoadedModel(
        generator,
        cfg,
        int(data["lowest_pitch"]),
        list(data["templates"]),
        tuple(data.get("time_signature", (4, 4))),
        float(data.get("bpm", 100.0)),
        meta,
        voicing=own_voicing(meta),
    )


def own_voicing(meta: dict[str, Any]) -> VoiceDecoding:
    """A model's default reading: the refinement rounds (and beat rounds, their
    temperature, whether their beat steps draw hold or move, whether a voice may strike its
    own pitch again off the beat) its file names
    (``meta["reading"]``: what its model card measured it with), else the engine's two
    rounds."""
    reading = meta.get("reading") if isinstance(meta, dict) else None
    if not isinstance(reading, dict):
        return VoiceDecoding()
    lo, hi = REFINE_RANGE

    def rounds_named(key: str, default: int) -> int:
        value = reading.get(key)
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        return int(value) if ok else default

    def drawn_at(key: str) -> float | None:
        value = reading.get(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 5
        return float(value) if ok else None

    return VoiceDecoding(
        refine_rounds=rounds_named("refine_rounds", VoiceDecoding.refine_rounds),
        beat_rounds=rounds_named("beat_rounds", 0),
        beat_temperature=drawn_at("beat_temperature"),
        drawn_beat_moves=reading.get("drawn_beat_moves") is True,
        offbeat_repeats=reading.get("offbeat_repeats") is not False,
        sixteenth_temperature=drawn_at("sixteenth_temperature"),
    )


def load_generator(
    source: str | os.PathLike[str] = "default", device: str | torch.device = "cpu"
) -> LoadedModel:
    """Load a generator from a checkpoint file, a run folder, or ``default`` (bundled)."""
    path = resolve_model(source)
    state, meta = load_checkpoint(path)
    if "generator" not in state:
        raise CheckpointError(f"{path}: checkpoint holds no generator weights")
    model = model_from_state(state["generator"], meta, device, owned=True)
    model.path = str(path)
    return model


# ----------------------------------------------------------------------------- decoding
def remove_short_notes(roll: np.ndarray, min_steps: int, monophonic: Sequence[bool]) -> np.ndarray:
    """Drop notes shorter than ``min_steps`` from ``[N, T, S, P]`` rolls.

    In a monophonic track the previous note is held through the gap instead, so a voice
    does not fall silent where the generator wavered for one step.
    """
    if min_steps <= 1:
        return roll
    roll = roll.copy()
    n, t, s, p = roll.shape
    cells = np.moveaxis(roll, 2, 3).reshape(-1, s)  # rows (n, t, p), time along axis 1
    row, col, ends = note_runs(cells)
    short = (ends - col) < min_steps
    short_mask = np.zeros(cells.shape, bool)
    for r, c0, c1 in zip(row[short], col[short], ends[short], strict=True):
        short_mask[r, c0:c1] = True
    cells[short_mask] = OFF
    out = np.moveaxis(cells.reshape(n, t, p, s), 3, 2).copy()
    for k in (k for k, mono in enumerate(monophonic) if mono):
        voice = out[:, k]  # [N, S, P]
        for step in range(1, s):
            silent = ~(voice[:, step] > 0).any(axis=1)
            gap = short_mask.reshape(n, t, p, s)[:, k, :, step].any(axis=1) & silent
            if gap.any():
                held = voice[gap, step - 1] > 0
                voice[gap, step] = np.where(held, HOLD, voice[gap, step])
    return out


def decode(
    logits: torch.Tensor,
    monophonic: Sequence[bool],
    temperature: float = 0.0,
    threshold: float = 0.5,
    generator: Noise = None,
    given: np.ndarray | None = None,
    known: np.ndarray | None = None,
    voicing: VoiceDecoding | None = None,
    beat: int = 4,
    sixteenths: bool = False,
) -> np.ndarray:
    """Generator logits ``[N, 2T, S, P]`` -> int8 rolls ``[N, T, S, P]`` (OFF/HOLD/ONSET).

    Cells ``known`` (``[N, T, S]``) are copied from ``given``; a track with no hidden cell
    is kept as given. Polyphonic tracks are thresholded (or drawn, with a temperature);
    monophonic voices (listed top to bottom) are read one after another by
    `studio.ml.voicing.decode_voice`, outer voices first, each against the voices
    already settled. In the ``sixteenths`` pass (`VoiceDecoding.sixteenth_temperature`)
    every voice's eighths are given, so each is read against all the others as they stand.
    """
    logits = logits.detach().float().cpu()
    n, c, s, p = logits.shape
    t = c // 2
    fp, op = torch.sigmoid(logits[:, :t]), torch.sigmoid(logits[:, t:])
    if given is None or known is None:
        given = np.zeros((n, t, s, p), np.int8)
        known = np.zeros((n, t, s), bool)
    voicing = voicing or VoiceDecoding()
    out = torch.from_numpy(np.array(given, np.int8, copy=True))
    known_t = torch.from_numpy(np.ascontiguousarray(known, dtype=bool))
    keep = known_t[..., None]
    settled = {k for k in range(t) if bool(known_t[:, k].all())}
    for k in range(t):
        if monophonic[k] or k in settled:
            continue
        if temperature > 0:
            probs = torch.sigmoid(logits[:, k] / temperature)
            if generator is None or isinstance(generator, torch.Generator):
                on = torch.bernoulli(probs, generator=generator).bool()
            else:  # one generator per variation: its draws do not depend on the batch
                on = uniform(probs.shape[0], tuple(probs.shape[1:]), generator) < probs
        else:
            on = fp[:, k] > threshold
        prev = torch.zeros_like(on)
        prev[:, 1:] = on[:, :-1]
        onset = on & (~prev | (op[:, k] > 0.5))
        track = on.to(torch.int8) * HOLD
        track[onset] = ONSET
        out[:, k] = torch.where(keep[:, k], out[:, k], track)
    tops = top_pitch(out.numpy())
    given_onset = (out == ONSET).any(dim=-1).numpy()
    known_np = known_t.numpy()
    order = voice_order(monophonic)
    for k in order:
        if k in settled:
            continue
        others = [j for j in order if j != k] if sixteenths else [j for j in order if j in settled]
        fixed = [FixedVoice(tops[:, j], below=j > k) for j in others]
        voice = decode_voice(
            fp[:, k].numpy(),
            op[:, k].numpy(),
            voicing,
            fixed,
            tops[:, k],
            given_onset[:, k],
            known_np[:, k],
            temperature,
            threshold,
            generator,
            beat,
            sixteenths,
        )
        out[:, k] = torch.where(keep[:, k], out[:, k], torch.from_numpy(voice))
        tops[:, k] = top_pitch(out[:, k : k + 1].numpy())[:, 0]
        settled.add(k)
    return out.numpy()


# ----------------------------------------------------------------------------- running G
def _latents(model: LoadedModel, variations: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(variations, model.config.z_dim, generator=g)


def latents(model: LoadedModel, seeds: Sequence[int]) -> torch.Tensor:
    """One latent per seed (``[len(seeds), z_dim]``): variation ``seed`` is the same
    whatever batch it is made in (the seed rule of `studio.ml.generation`)."""
    if not len(seeds):
        return torch.zeros(0, model.config.z_dim)
    return torch.cat([_latents(model, 1, int(seed)) for seed in seeds])


def noise_generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """The sampling-noise generator of each variation (see ``NOISE_OFFSET``)."""
    return [torch.Generator().manual_seed(int(seed) + NOISE_OFFSET) for seed in seeds]


def planes_from_roll(roll: np.ndarray) -> torch.Tensor:
    """int8 rolls ``[N, T, S, P]`` -> float frame+onset planes ``[N, 2T, S, P]``."""
    r = torch.from_numpy(np.ascontiguousarray(roll))
    return torch.cat([(r > 0).float(), (r == ONSET).float()], dim=1)


def window_start(unknown: np.ndarray, w: int, bar: int) -> int:
    """Bar-aligned start of the next window, given which steps are still hidden.

    A short hole (at most half a window, e.g. an infill) is centred, so the window holds
    context on both sides; a long one (from scratch, a continuation) gets half a window
    of context before it, so each window continues the last.
    """
    total = len(unknown)
    u = int(np.argmax(unknown))
    known_after = np.nonzero(~unknown[u:])[0]
    v = u + int(known_after[0]) if len(known_after) else total
    hole = v - u
    context = (w - hole) // 2 if hole <= w // 2 else w // 2
    s0 = max(0, u - min(u, context)) // bar * bar
    return int(min(s0, total - w))


def plan_windows(
    mask: np.ndarray,
    w: int,
    bar: int,
    rounds: int,
    beat_rounds: int = 0,
    beat: int = 4,
    sixteenths: bool = False,
) -> list[tuple[int, int]]:
    """``(start, passes)`` of each window `run_windows` will place over one variation's
    given-cell mask ``[T, L]`` (L already padded to whole bars and at least ``w``);
    ``sixteenths``: with the reading's sixteenths pass."""
    known = np.array(mask, bool, copy=True)
    plan = []
    while True:
        unknown = ~known.all(axis=0)
        if not unknown.any():
            return plan
        s0 = window_start(unknown, w, bar)
        window = known[None, :, s0 : s0 + w]
        passes = 1 + len(refinement_masks(window, rounds, beat_rounds, beat))
        passes += len(sixteenth_masks(window, sixteenths))
        plan.append((s0, passes))
        known[:, s0 : s0 + w] = True


def padded_steps(length: int, w: int, bar: int) -> int:
    """Steps `run_windows` works on for an output of ``length`` steps: one window and
    whole bars beyond it, so every window (the last sits at the end) starts on a bar line
    even when the window is not a whole number of bars (64 steps of 3/4)."""
    return w + -(-max(0, length - w) // bar) * bar


def refinement_masks(
    known: np.ndarray, rounds: int, beat_rounds: int = 0, beat: int = 4
) -> list[np.ndarray]:
    """Given-cell masks ``[N, T, S]`` of the refinement passes over one window: per round,
    each track that has hidden cells is hidden alone (outer tracks first), everything
    else given; then per beat round, each such track twice, with its odd and then its
    even beats (``beat`` steps) hidden. Cells in ``known`` stay given throughout."""
    n_tracks, n_steps = known.shape[1], known.shape[2]
    if n_tracks < 2:
        return []
    hidden = [k for k in voice_order([True] * n_tracks) if not known[:, k].all()]
    odd_beat = (np.arange(n_steps) // max(1, beat)) % 2 == 1
    whole = [[np.ones(n_steps, bool)]] * rounds
    blocks_of_round = whole + [[odd_beat, ~odd_beat]] * beat_rounds
    masks = []
    for blocks in blocks_of_round:
        for k in hidden:
            for block in blocks:
                mask = np.ones_like(known)
                mask[:, k] = known[:, k] | ~block
                masks.append(mask)
    return masks


def sixteenth_masks(known: np.ndarray, on: bool, grid: int = 2) -> list[np.ndarray]:
    """The mask ``[N, T, S]`` the network is given in the sixteenths pass over one window
    (`VoiceDecoding.sixteenth_temperature`), as a list of one (none when ``on`` is False
    or nothing is hidden): every cell given but the steps off the ``grid`` (steps) of each
    track with hidden cells, across the whole window, as the network learnt such windows
    (`TrainConfig.offgrid_share`). Where ``known`` cells lie among them (a continuation's
    opening, the bars a window shares with the one before) the network does not see their
    sixteenths, but they stay as given: the pass writes only where ``known`` is not set.
    Given those steps, the network read a window half given, half hidden as a new kind
    of question and moved a voice on a sixth of the steps (models/bach-default.md,
    "Sixteenths")."""
    hidden = ~known.all(axis=(0, 2))
    if not on or not hidden.any():
        return []
    off = np.arange(known.shape[2]) % grid != 0
    mask = np.ones_like(known)
    mask[:, hidden] = ~off
    return [mask]


@torch.no_grad()
def run_windows(
    model: LoadedModel,
    given: np.ndarray,
    mask: np.ndarray,
    z: torch.Tensor,
    temperature: float,
    threshold: float,
    seed: int,
    min_note_steps: int = 1,
    *,
    noise: Sequence[torch.Generator] | None = None,
    voicing: VoiceDecoding | None = None,
    on_pass: PassCallback | None = None,
    metre: Metre | None = None,
    key: int | None = None,
    cadence_every: int | None = None,
) -> np.ndarray:
    """Fill the hidden cells of ``given`` (``[N, T, L, P]``, any length L).

    ``mask`` (``[N, T, L]`` bool) marks given cells. Windows of the model's length are
    placed over the first steps still hidden (see `window_start`); each sees everything
    already given or generated in it as context, so long outputs stay continuous.
    ``noise`` (one generator per variation) makes each variation independent of the
    batch it is in; without it one generator seeded ``seed + 1`` serves the batch.
    ``voicing`` overrides ``model.voicing``; ``on_pass(done, total)`` is called before
    each network pass (it may raise to stop the work there). ``metre``: the bar the music
    follows (windows start on its bar lines and the network is given its bar and beat
    phase; None: the model's own bar). ``key``: a key label (`Key.index`) for a
    key-conditioned model (ignored by others). ``cadence_every``: bars between phrase
    ends for a phrase-conditioned model (None: its default; 0: no plan; ignored by others).
    """
    cfg = model.config
    n, t, length, p = given.shape
    w = cfg.n_steps
    # Pad with hidden steps to whole bars and at least one window; cut afterwards. Windows
    # always start on a bar line: the model's coordinate planes put step 0 on a downbeat.
    bar = model.bar_steps(metre)
    cond = {k: v.to(model.device) for k, v in _conditions(model, n, metre, key).items()}
    total = padded_steps(length, w, bar)
    plan = model.phrase_plan(total, metre, cadence_every)
    if total > length:
        pad = total - length
        given = np.concatenate([given, np.zeros((n, t, pad, p), np.int8)], axis=2)
        mask = np.concatenate([mask, np.zeros((n, t, pad), bool)], axis=2)
    roll = given.copy()
    known = mask.copy()
    gen: Noise = list(noise) if noise is not None else torch.Generator().manual_seed(int(seed) + 1)
    voicing = voicing or model.voicing
    device = model.device
    z = z.to(device)
    precision = inference_precision(device)
    network = _network(model.generator, precision)
    rounds = (voicing.refine_rounds, voicing.beat_rounds, cfg.steps_per_beat)
    sixteenths = voicing.sixteenth_temperature is not None
    planned = plan_windows(known.all(axis=0), w, bar, *rounds, sixteenths=sixteenths)
    total_passes = sum(p for _, p in planned)
    done = 0
    while True:
        unknown = ~known.all(axis=(0, 1))
        if not unknown.any():
            break
        s0 = window_start(unknown, w, bar)
        window_known = known[:, :, s0 : s0 + w].copy()
        window = roll[:, :, s0 : s0 + w]  # a view: writes land in roll
        if plan is not None:
            marks = torch.from_numpy(np.ascontiguousarray(plan[None, :, s0 : s0 + w]))
            cond["phrases"] = marks.expand(n, -1, -1).to(device)
        whole = refinement_masks(window_known, voicing.refine_rounds)
        beats = refinement_masks(window_known, 0, voicing.beat_rounds, cfg.steps_per_beat)
        last = sixteenth_masks(window_known, sixteenths, voicing.onset_grid)
        plain = 1 + len(whole)  # the passes after these are the beat passes
        for index, given_mask in enumerate([window_known, *whole, *beats, *last]):
            if on_pass is not None:
                on_pass(done, total_passes)
            done += 1
            ctx = planes_from_roll(window).to(device)
            m = torch.from_numpy(given_mask).float().to(device)
            inputs = [z, ctx, m, *cond.values()]
            logits = FIRST_PASS.get(network, inputs) if done == 1 else None
            if logits is None:
                chunk = CPU_FORWARD_CHUNK if device.type == "cpu" else n
                parts = []
                for k in range(0, n, chunk):
                    if k and on_pass is not None:
                        on_pass(done - 1, total_passes)
                    parts.append(
                        _forward(
                            network,
                            precision,
                            z[k : k + chunk],
                            ctx[k : k + chunk],
                            m[k : k + chunk],
                            **{name: v[k : k + chunk] for name, v in cond.items()},
                        )
                    )
                logits = torch.cat(parts)
                if done == 1:
                    FIRST_PASS.put(network, inputs, logits)
            in_last = index >= plain + len(beats)
            drawn = voicing.beat_temperature if index >= plain else None
            if in_last:
                drawn = voicing.sixteenth_temperature
            _write_pass(
                model,
                logits,
                window,
                given_mask,
                temperature if drawn is None else drawn,
                threshold,
                gen,
                voicing,
                min_note_steps,
                sixteenths=in_last,
                known=window_known,
            )
        known[:, :, s0 : s0 + w] = True
    return roll[:, :, :length]


def _write_pass(
    model: LoadedModel,
    logits: torch.Tensor,
    window: np.ndarray,
    given_mask: np.ndarray,
    temperature: float,
    threshold: float,
    noise: Noise,
    voicing: VoiceDecoding,
    min_note_steps: int = 1,
    sixteenths: bool = False,
    known: np.ndarray | None = None,
) -> None:
    """Decode one pass's logits into the cells of ``window`` (in place) that neither
    ``given_mask`` (what the network was given) nor ``known`` (``[N, T, S]``: the request's
    given cells, where the network was not shown them all) hold; ``sixteenths``: the pass
    is the reading's sixteenths pass."""
    if known is not None:
        given_mask = given_mask | known
    out = decode(
        logits,
        model.monophonic,
        temperature,
        threshold,
        noise,
        window,
        given_mask,
        voicing,
        model.config.steps_per_beat,
        sixteenths,
    )
    if min_note_steps > 1:
        out = remove_short_notes(out, min_note_steps, model.monophonic)
    if sixteenths:
        # A given note taken up again after a sixteenth is struck anew, not held on.
        window[(window == HOLD) & (out == ONSET) & given_mask[:, :, :, None]] = ONSET
    window[:] = np.where(given_mask[:, :, :, None], window, out)


@torch.no_grad()
def complete_windows(
    model: LoadedModel,
    given: np.ndarray,
    mask: np.ndarray,
    z: torch.Tensor,
    cond: dict[str, torch.Tensor],
    noise: Noise = None,
) -> tuple[np.ndarray, torch.Tensor]:
    """The model's default reading of window-length inputs: one pass over every hidden
    cell, then ``model.voicing.refine_rounds`` rounds of voice-by-voice passes.

    ``given`` ``[N, T, S, P]`` int8 and ``mask`` ``[N, T, S]`` bool as in `run_windows`,
    but one window each, with per-window conditions ``cond`` (``metres``, ``keys``,
    ``phrases``) as a training batch has them. Returns what a refined request writes for
    each window, and the network's *beliefs* it was read from: per track, the frame and
    onset probabilities ``[N, 2T, S, P]`` of the last pass that wrote that track (in the
    last round, each voice given the others as finished). Training a student on them:
    `TrainConfig.distill_refined`.
    """
    window = np.where(mask[:, :, :, None], given, 0).astype(np.int8)
    network = model.generator
    t = window.shape[1]
    beliefs: torch.Tensor | None = None
    v = model.voicing
    whole = refinement_masks(mask, v.refine_rounds)
    beats = refinement_masks(mask, 0, v.beat_rounds, model.config.steps_per_beat)
    last = sixteenth_masks(mask, v.sixteenth_temperature is not None, v.onset_grid)
    plain = 1 + len(whole)  # the passes after these are the beat passes
    for index, given_mask in enumerate([mask, *whole, *beats, *last]):
        m = torch.from_numpy(given_mask).float().to(z.device)
        logits = network(z, planes_from_roll(window).to(z.device), m, **cond)
        probs = torch.sigmoid(logits.float())
        if beliefs is None:
            beliefs = probs
        else:
            written = [k for k in range(t) if not given_mask[:, k].all()]
            for k in written:
                beliefs[:, [k, t + k]] = probs[:, [k, t + k]]
        in_last = index >= plain + len(beats)
        drawn = v.beat_temperature if index >= plain else None
        if in_last:
            drawn = v.sixteenth_temperature
        _write_pass(
            model, logits, window, given_mask, drawn or 0.0, 0.5, noise, v, 1, in_last, mask
        )
    assert beliefs is not None
    return window, beliefs


def _song(
    model: LoadedModel,
    roll: np.ndarray,
    title: str,
    tempo: float | None,
    time_signature: tuple[int, int] | None = None,
    ticks_per_beat: int = 480,
) -> Song:
    return roll_to_song(
        roll,
        model.spec,
        ticks_per_beat,
        model.track_templates(),
        float(tempo or model.bpm),
        time_signature or model.time_signature,
        title,
        90,
    )


def _check_common(variations: int, temperature: float, bars: int | None = None) -> None:
    if variations < 1:
        raise MLError(f"variations must be >= 1, got {variations}")
    if temperature < 0:
        raise MLError(f"temperature must be >= 0, got {temperature}")
    if bars is not None and bars < 1:
        raise MLError(f"bars must be >= 1, got {bars}")


# ----------------------------------------------------------------------------- tasks
def variation_seeds(seed: int, variations: int, seeds: Sequence[int] | None) -> list[int]:
    """The seed of each variation: ``seeds`` when given, else seed, seed + 1, ..."""
    return [int(s) for s in seeds] if seeds is not None else [seed + k for k in range(variations)]


def generate(
    model: LoadedModel,
    bars: int = 4,
    variations: int = 1,
    seed: int = 0,
    temperature: float = 0.0,
    tempo: float | None = None,
    threshold: float = 0.5,
    min_note_steps: int = 1,
    *,
    seeds: Sequence[int] | None = None,
    voicing: VoiceDecoding | None = None,
    on_pass: PassCallback | None = None,
    time_signature: tuple[int, int] | None = None,
    key: int | None = None,
    cadence_every: int | None = None,
) -> list[Song]:
    """New music from scratch: one Song of ``bars`` bars per variation (seed ``seed + k``,
    or each of ``seeds``), in ``time_signature`` (default: the model's metre)."""
    seeds = variation_seeds(seed, variations, seeds)
    _check_common(len(seeds), temperature, bars)
    cfg = model.config
    metre = tuple(time_signature or model.time_signature)
    length = bars * model.bar_steps(metre)  # type: ignore[arg-type]
    shape = (len(seeds), cfg.n_tracks, length, cfg.n_pitches)
    roll = _variations_of(
        model,
        np.zeros(shape[1:], np.int8),
        np.zeros(shape[1:3], bool),
        seeds,
        temperature,
        threshold,
        min_note_steps,
        voicing,
        on_pass,
        metre=metre,  # type: ignore[arg-type]
        key=key,
        cadence_every=cadence_every,
    )
    return [
        _song(model, r, f"Generated (seed {s})", tempo, metre)  # type: ignore[arg-type]
        for s, r in zip(seeds, roll, strict=True)
    ]


def generate_rolls(
    model: LoadedModel,
    n: int,
    seed: int = 0,
    temperature: float = 0.0,
    threshold: float = 0.5,
    min_note_steps: int = 1,
    batch: int = 256,
    cadence_every: int | None = None,
) -> np.ndarray:
    """``n`` window-length rolls from scratch (for metrics), batched, in the model's metre
    (``cadence_every``: see `run_windows`)."""
    cfg = model.config
    metre = tuple(model.time_signature)
    own = metre if metre != default_metre_of(cfg.steps_per_bar, cfg.steps_per_beat) else None
    out = []
    for k in range(0, n, batch):
        m = min(batch, n - k)
        shape = (m, cfg.n_tracks, cfg.n_steps, cfg.n_pitches)
        z = _latents(model, m, seed + k)
        out.append(
            run_windows(
                model,
                np.zeros(shape, np.int8),
                np.zeros(shape[:3], bool),
                z,
                temperature,
                threshold,
                seed + k,
                min_note_steps,
                metre=own,  # type: ignore[arg-type]
                cadence_every=cadence_every,
            )
        )
    return np.concatenate(out) if out else np.zeros((0, *shape[1:]), np.int8)


def map_song_tracks(model: LoadedModel, song: Song, track_indices: Sequence[int]) -> list[int]:
    """Model track for each given song track: by name, else in order of free model tracks."""
    names = [t["name"].lower() for t in model.templates]
    taken: list[int] = []
    out: list[int] = []
    for k in track_indices:
        name = song.tracks[k].name.strip().lower()
        target = names.index(name) if name in names and names.index(name) not in taken else -1
        if target < 0:
            free = [j for j in range(len(names)) if j not in taken]
            if not free:
                raise MLError(f"the model has only {len(names)} tracks")
            target = free[0]
        taken.append(target)
        out.append(target)
    return out


def _song_roll(
    model: LoadedModel, song: Song, mapping: dict[int, int], n_steps: int
) -> tuple[np.ndarray, int]:
    """The song's mapped tracks as a ``[T, n_steps, P]`` model roll, octave-shifted into range.

    Returns the roll and the semitone shift applied (generated notes are shifted back).
    """
    spec_full = RollSpec(model.config.steps_per_beat, 0, 128)
    cfg = model.config
    roll = np.zeros((cfg.n_tracks, n_steps, cfg.n_pitches), np.int8)
    full = song_to_roll(song, spec_full, list(mapping), 0, n_steps) if mapping else None
    shift = 0
    if full is not None and (full > 0).any():
        used = np.nonzero((full > 0).any(axis=(0, 1)))[0]
        lo, hi = int(used.min()), int(used.max())
        top = model.lowest_pitch + cfg.n_pitches - 1
        while lo + shift < model.lowest_pitch and hi + shift + 12 <= top:
            shift += 12
        while hi + shift > top and lo + shift - 12 >= model.lowest_pitch:
            shift -= 12
        for row, target in enumerate(mapping.values()):
            src = full[row]
            a = model.lowest_pitch - shift
            lo_row, hi_row = max(a, 0), min(a + cfg.n_pitches, 128)
            roll[target, :, lo_row - a : hi_row - a] = src[:, lo_row:hi_row]
    return roll, shift


def _steps_of(song: Song, model: LoadedModel) -> int:
    tps = song.ticks_per_beat / model.config.steps_per_beat
    return max(1, math.ceil(song.end_tick / tps))


def _merge_output(
    model: LoadedModel,
    song: Song,
    roll: np.ndarray,
    shift: int,
    keep_song_tracks: dict[int, int],
    title: str,
    replace_range: tuple[int, int] | None = None,
) -> Song:
    """Build a result Song: given tracks copied verbatim, generated tracks decoded."""
    generated = _song(model, roll, title, None, None, song.ticks_per_beat)
    tracks: list[Track] = []
    for _k, template in enumerate(generated.tracks):
        notes = template.notes
        if shift:
            notes = notes.replaced(pitch=np.clip(notes.pitch.astype(np.int64) - shift, 0, 127))
        template.notes = notes
        tracks.append(template)
    for song_index, model_index in keep_song_tracks.items():
        tracks[model_index] = song.tracks[song_index].copy()
    return Song(
        title,
        song.ticks_per_beat,
        list(song.tempos),
        list(song.time_signatures),
        tracks,
    )


def harmonize(
    model: LoadedModel,
    song: Song,
    keep_tracks: Sequence[int] | dict[int, int] = (0,),
    variations: int = 1,
    seed: int = 0,
    temperature: float = 0.0,
    threshold: float = 0.5,
    min_note_steps: int = 1,
    *,
    seeds: Sequence[int] | None = None,
    voicing: VoiceDecoding | None = None,
    on_pass: PassCallback | None = None,
    key: int | None = None,
    cadence_every: int | None = None,
) -> list[Song]:
    """Write the other voices under/around the kept tracks, for the whole song (in the
    song's opening metre; ``key``: for a key-conditioned model, the given music's key).

    ``keep_tracks``: song track indices (mapped to model tracks by name, else the first
    free ones, so a lone melody becomes the top voice) or ``{song_track: model_track}``.
    Kept tracks are copied note for note into the result.
    """
    seeds = variation_seeds(seed, variations, seeds)
    _check_common(len(seeds), temperature)
    mapping = _keep_mapping(model, song, keep_tracks)
    n_steps = _steps_of(song, model)
    base, shift = _song_roll(model, song, mapping, n_steps)
    cfg = model.config
    mask = np.zeros((cfg.n_tracks, n_steps), bool)
    for target in mapping.values():
        mask[target] = True
    roll = _variations_of(
        model,
        base,
        mask,
        seeds,
        temperature,
        threshold,
        min_note_steps,
        voicing,
        on_pass,
        metre=song_metre(song),
        key=key,
        cadence_every=cadence_every,
    )
    return [
        _merge_output(model, song, r, shift, mapping, f"{song.title} (harmonized, seed {s})")
        for s, r in zip(seeds, roll, strict=True)
    ]


def _variations_of(
    model: LoadedModel,
    base: np.ndarray,
    mask: np.ndarray,
    seeds: Sequence[int],
    temperature: float,
    threshold: float,
    min_note_steps: int,
    voicing: VoiceDecoding | None = None,
    on_pass: PassCallback | None = None,
    *,
    metre: Metre | None = None,
    key: int | None = None,
    cadence_every: int | None = None,
) -> np.ndarray:
    """One completion of a given roll and mask per seed, in a batch; each variation's
    latent and noise come from its seed alone."""
    n = len(seeds)
    return run_windows(
        model,
        np.repeat(base[None], n, 0),
        np.repeat(mask[None], n, 0),
        latents(model, seeds),
        temperature,
        threshold,
        int(seeds[0]),
        min_note_steps,
        noise=noise_generators(seeds),
        voicing=voicing,
        on_pass=on_pass,
        metre=metre,
        key=key,
        cadence_every=cadence_every,
    )


def _keep_mapping(
    model: LoadedModel, song: Song, keep_tracks: Sequence[int] | dict[int, int]
) -> dict[int, int]:
    if isinstance(keep_tracks, dict):
        mapping = {int(k): int(v) for k, v in keep_tracks.items()}
    else:
        indices = [int(k) for k in keep_tracks]
        mapping = dict(zip(indices, map_song_tracks(model, song, indices), strict=True))
    for k, v in mapping.items():
        if not 0 <= k < len(song.tracks):
            raise MLError(f"track {k} does not exist (the song has {len(song.tracks)} tracks)")
        if not 0 <= v < model.config.n_tracks:
            raise MLError(f"model track {v} does not exist")
    return mapping


def continue_(
    model: LoadedModel,
    primer: Song,
    bars: int = 4,
    variations: int = 1,
    seed: int = 0,
    temperature: float = 0.0,
    threshold: float = 0.5,
    min_note_steps: int = 1,
    tracks: Sequence[int] | dict[int, int] | None = None,
    *,
    seeds: Sequence[int] | None = None,
    voicing: VoiceDecoding | None = None,
    on_pass: PassCallback | None = None,
    key: int | None = None,
    cadence_every: int | None = None,
) -> list[Song]:
    """The primer followed by ``bars`` new bars in the primer's metre. Primer tracks are
    mapped onto the model's (by name, else in order); model tracks the primer lacks are
    generated throughout."""
    seeds = variation_seeds(seed, variations, seeds)
    _check_common(len(seeds), temperature, bars)
    cfg = model.config
    indices = tracks if tracks is not None else list(range(min(len(primer.tracks), cfg.n_tracks)))
    mapping = _keep_mapping(model, primer, indices)
    primer_steps = _steps_of(primer, model)
    metre = song_metre(primer)
    bar = model.bar_steps(metre)
    primer_steps = int(math.ceil(primer_steps / bar) * bar)
    n_steps = primer_steps + bars * bar
    base, shift = _song_roll(model, primer, mapping, n_steps)
    base[:, primer_steps:] = OFF
    mask = np.zeros((cfg.n_tracks, n_steps), bool)
    for target in mapping.values():
        mask[target, :primer_steps] = True
    roll = _variations_of(
        model,
        base,
        mask,
        seeds,
        temperature,
        threshold,
        min_note_steps,
        voicing,
        on_pass,
        metre=metre,
        key=key,
        cadence_every=cadence_every,
    )
    primer_end_tick = round(primer_steps * primer.ticks_per_beat / cfg.steps_per_beat)
    results = []
    for s, r in zip(seeds, roll, strict=True):
        title = f"{primer.title} (continued, seed {s})"
        song = _merge_output(model, primer, r, shift, {}, title)
        for song_index, model_index in mapping.items():
            # Primer notes verbatim, generated notes only after the primer.
            generated = song.tracks[model_index].notes
            after = generated.take(np.nonzero(generated.start >= primer_end_tick)[0])
            given = primer.tracks[song_index].notes
            song.tracks[model_index].notes = _concat_notes(given, after)
        results.append(song)
    return results


def _concat_notes(a: Notes, b: Notes) -> Notes:
    return Notes(
        np.concatenate([a.pitch, b.pitch]),
        np.concatenate([a.start, b.start]),
        np.concatenate([a.duration, b.duration]),
        np.concatenate([a.velocity, b.velocity]),
    )


def infill(
    model: LoadedModel,
    song: Song,
    start_tick: int,
    end_tick: int,
    tracks: Sequence[int] | None = None,
    variations: int = 1,
    seed: int = 0,
    temperature: float = 0.0,
    threshold: float = 0.5,
    min_note_steps: int = 1,
    *,
    seeds: Sequence[int] | None = None,
    voicing: VoiceDecoding | None = None,
    on_pass: PassCallback | None = None,
    key: int | None = None,
    cadence_every: int | None = None,
) -> list[Song]:
    """Regenerate ``[start_tick, end_tick)`` of the given song tracks (default: all mapped),
    in the song's metre.

    Everything else is kept exactly: notes starting outside the range are untouched;
    new notes start inside the range and end by ``end_tick``.
    """
    seeds = variation_seeds(seed, variations, seeds)
    _check_common(len(seeds), temperature)
    if end_tick <= start_tick or start_tick < 0:
        raise MLError(f"infill range must satisfy 0 <= start < end, got {start_tick}..{end_tick}")
    cfg = model.config
    all_tracks = list(range(min(len(song.tracks), cfg.n_tracks)))
    mapping = _keep_mapping(model, song, all_tracks)
    regen = set(all_tracks if tracks is None else [int(k) for k in tracks])
    unknown = regen - set(mapping)
    if unknown:
        raise MLError(f"cannot infill tracks {sorted(unknown)}: the model has no track for them")
    tpb = song.ticks_per_beat
    tps = tpb / cfg.steps_per_beat
    s0, s1 = int(start_tick // tps), math.ceil(end_tick / tps)
    n_steps = max(_steps_of(song, model), s1)
    base, shift = _song_roll(model, song, mapping, n_steps)
    mask = np.zeros((cfg.n_tracks, n_steps), bool)
    for song_index, target in mapping.items():
        mask[target] = True
        if song_index in regen:
            mask[target, s0:s1] = False
            base[target, s0:s1] = OFF
    roll = _variations_of(
        model,
        base,
        mask,
        seeds,
        temperature,
        threshold,
        min_note_steps,
        voicing,
        on_pass,
        metre=song_metre(song),
        key=key,
        cadence_every=cadence_every,
    )
    results = []
    for s, r in zip(seeds, roll, strict=True):
        generated = _merge_output(model, song, r, shift, {}, f"{song.title} (infill, seed {s})")
        out = song.copy()
        out.title = generated.title
        for song_index, model_index in mapping.items():
            if song_index not in regen:
                continue
            old = song.tracks[song_index].notes
            outside = np.nonzero((old.start < start_tick) | (old.start >= end_tick))[0]
            new = generated.tracks[model_index].notes
            inside = np.nonzero((new.start >= start_tick) & (new.start < end_tick))[0]
            new = new.take(inside)
            new = new.replaced(
                duration=np.maximum(np.minimum(new.start + new.duration, end_tick) - new.start, 1)
            )
            out.tracks[song_index].notes = _concat_notes(old.take(outside), new)
        results.append(out)
    return results


def interpolate(
    model: LoadedModel,
    seed_a: int,
    seed_b: int,
    steps: int = 5,
    bars: int | None = None,
    temperature: float = 0.0,
    threshold: float = 0.5,
    tempo: float | None = None,
    min_note_steps: int = 1,
    *,
    voicing: VoiceDecoding | None = None,
    on_pass: PassCallback | None = None,
    time_signature: tuple[int, int] | None = None,
) -> list[Song]:
    """``steps`` Songs morphing from seed A's latent to seed B's (spherical interpolation);
    all steps share seed A's sampling noise, so only the latent moves."""
    if steps < 2:
        raise MLError(f"interpolation needs at least 2 steps, got {steps}")
    za, zb = latents(model, [seed_a, seed_b])
    omega = torch.arccos(torch.clamp(torch.dot(za / za.norm(), zb / zb.norm()), -1.0, 1.0))
    z = []
    for k in range(steps):
        a = k / (steps - 1)
        if float(omega) < 1e-4:
            z.append((1 - a) * za + a * zb)
        else:
            z.append(
                (torch.sin((1 - a) * omega) * za + torch.sin(a * omega) * zb) / torch.sin(omega)
            )
    cfg = model.config
    metre = tuple(time_signature or model.time_signature)
    length = (bars or model.bars) * model.bar_steps(metre)  # type: ignore[arg-type]
    shape = (steps, cfg.n_tracks, length, cfg.n_pitches)
    roll = run_windows(
        model,
        np.zeros(shape, np.int8),
        np.zeros(shape[:3], bool),
        torch.stack(z),
        temperature,
        threshold,
        seed_a,
        min_note_steps,
        noise=noise_generators([seed_a] * steps),
        voicing=voicing,
        on_pass=on_pass,
        metre=metre,  # type: ignore[arg-type]
    )
    return [
        _song(model, r, f"Interpolation {seed_a}->{seed_b} ({k + 1}/{steps})", tempo, metre)  # type: ignore[arg-type]
        for k, r in enumerate(roll)
    ]
