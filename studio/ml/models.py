"""One conditional convolutional GAN for every generation task.

Tensors are ``[batch, channels, time, pitch]`` with the tracks as channels, so every
convolution looks at a patch of time × pitch across all instruments at once.

Generator ``G(z, context, mask)``: ``context`` holds the frame and onset planes of the
cells the user gives (``[B, 2T, S, P]``), ``mask`` says per track and time step what is
given (``[B, T, S]``: 1 = given). One network covers every task in one forward pass:
from scratch (empty mask), continuation (first bars given), harmonisation (some tracks
given) and infill (everything but a time range given). It is a U-Net: strided
convolutions pool time × pitch down to a small grid where the latent ``z`` enters,
transposed convolutions bring it back up, and skip connections carry the given notes
to the output at full resolution. ``z`` also modulates every decoder level (FiLM), so
the context cannot drown it out and variations stay varied. Coordinate planes
(absolute pitch, position in the beat and in the bar) let the translation-invariant
convolutions learn voice ranges and metre.

Output: per-cell logits of "a note sounds here" (frame) and "a note starts here"
(onset), ``[B, 2T, S, P]``.

Discriminator ``D(roll, mask)``: strided convolutions with spectral normalisation
(Miyato et al., 2018) over the full roll (given + generated cells) plus the mask,
average pooled to one score (a sum would grow with the window and swamp the generator's
other loss terms). Spectral norm keeps D Lipschitz-bounded without the extra backward
pass of a gradient penalty (WGAN-GP is still available as a loss option).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from studio.ml.phrases import PHRASE_PLANES

ARCH_VERSION = "pianola-cgan-1"  # bump when a checkpoint of the old layout cannot load


@dataclass(frozen=True)
class ModelConfig:
    n_tracks: int = 4
    n_steps: int = 64
    n_pitches: int = 64
    steps_per_bar: int = 16
    steps_per_beat: int = 4
    z_dim: int = 64
    g_channels: tuple[int, ...] = (32, 64, 128, 256, 256)
    d_channels: tuple[int, ...] = (32, 64, 128, 256, 256)
    res_blocks: int = 2
    # Engine v2 (old checkpoints lack these keys and load with the defaults, unchanged):
    # key conditioning adds `KEY_PLANES` inputs to G and D; ``lowest_pitch`` (row 0's MIDI
    # pitch) lets the key planes mark pitch classes.
    key_conditioning: bool = False
    lowest_pitch: int = 0
    # Phrase-end conditioning adds `PHRASE_PLANES` inputs (known, cadence) after the key's.
    phrase_conditioning: bool = False
    # Metre planes add `METRE_PLANES` inputs (the bar's and the beat's length) after all
    # others: the phase planes alone did not teach the network the bar's length.
    metre_planes: bool = False

    @property
    def extra_planes(self) -> int:
        return (
            (KEY_PLANES if self.key_conditioning else 0)
            + (PHRASE_PLANES if self.phrase_conditioning else 0)
            + (METRE_PLANES if self.metre_planes else 0)
        )

    @property
    def levels(self) -> int:
        return len(self.g_channels) - 1

    def check(self) -> None:
        f = 2 ** max(self.levels, len(self.d_channels) - 1)
        if self.n_steps % f or self.n_pitches % f:
            raise ValueError(
                f"window {self.n_steps} steps × {self.n_pitches} pitches must be divisible by {f}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
        return cls(**fields)


PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU: for tests and smoke runs.
    "tiny": {"z_dim": 16, "g_channels": (8, 16, 32), "d_channels": (8, 16, 32), "res_blocks": 1},
    # The bundled model: ~5 M generator parameters (~20 MB float32). Channels stay narrow
    # at full resolution (where FLOPs are) and wide at the 4×4 bottleneck (where they
    # are cheap), so 16 variations × 8 bars sample well under a second on a CPU.
    "default": {
        "z_dim": 64,
        "g_channels": (16, 32, 64, 128, 256),
        "d_channels": (16, 32, 64, 128, 256),
        "res_blocks": 2,
    },
    # Half the default's channels at every level: ~1.4 M generator parameters and about
    # half the time per pass on a CPU (the full-resolution layers, which dominate there,
    # are memory-bound). Meant to be distilled from a larger model (``distill_from``).
    "small": {
        "z_dim": 64,
        "g_channels": (8, 16, 32, 64, 128),
        "d_channels": (8, 16, 32, 64, 128),
        "res_blocks": 2,
    },
}


def preset_config(preset: str, **shape: Any) -> ModelConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; use one of {sorted(PRESETS)}")
    cfg = replace(ModelConfig(), **PRESETS[preset], **shape)
    cfg.check()
    return cfg


def _bar_and_beat_steps(
    cfg: ModelConfig, device: torch.device, metres: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, 1]`` float32 steps in each sample's bar and counted beat (``metres`` None:
    ``B`` = 1, the config's fixed bar and a quarter beat)."""
    if metres is None:
        bar_len = torch.full((1, 1), float(cfg.steps_per_bar), device=device)
        beat_len = torch.full((1, 1), float(cfg.steps_per_beat), device=device)
        return bar_len, beat_len
    num = metres[:, 0].to(device=device, dtype=torch.float32)
    den = metres[:, 1].to(device=device, dtype=torch.float32)
    unit = cfg.steps_per_beat * 4 / den  # steps of the denominator's note
    compound = (num > 3) & (torch.remainder(num, 3) == 0)
    return (num * unit)[:, None], torch.where(compound, 3 * unit, unit)[:, None]


def coordinate_planes(
    cfg: ModelConfig,
    device: torch.device,
    dtype: torch.dtype,
    metres: torch.Tensor | None = None,
) -> torch.Tensor:
    """``[B, 5, S, P]``: pitch position and sin/cos of the phase in the beat and the bar.

    ``metres`` (``[B, 2]``: numerator, denominator per sample; every window starts on a
    bar line) gives each sample its own bar and beat (the metre's counted beat: quarter
    in 3/4, dotted quarter in 6/8, half in 2/2; see `studio.ml.metre`). Without it
    (``B`` = 1) the bar is ``cfg.steps_per_bar`` and the beat a quarter: the planes every
    model before metre conditioning was trained with, bit for bit equal to 4/4's.
    """
    s = torch.arange(cfg.n_steps, device=device, dtype=torch.float32)
    p = torch.linspace(-1.0, 1.0, cfg.n_pitches, device=device)
    bar_len, beat_len = _bar_and_beat_steps(cfg, device, metres)
    # Same operations, in the same order, as the fixed-metre planes: 4/4 stays bit-identical.
    bar = 2 * math.pi * torch.remainder(s[None, :], bar_len) / bar_len
    beat = 2 * math.pi * torch.remainder(s[None, :], beat_len) / beat_len
    b = bar.shape[0]
    planes = [
        p[None, None, :].expand(b, cfg.n_steps, -1),
        *(
            f(x)[:, :, None].expand(-1, -1, cfg.n_pitches)
            for x in (bar, beat)
            for f in (torch.sin, torch.cos)
        ),
    ]
    return torch.stack(planes, dim=1).to(dtype)


KEY_PLANES = 3  # key profile weight of each pitch row, tonic rows, mode (+1 major, -1 minor)


def key_planes(
    cfg: ModelConfig,
    keys: torch.Tensor | None,
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``[B, KEY_PLANES, S, P]`` for key labels (`studio.core.keys.Key.index`, -1 = any).

    The key enters as pitch-row planes rather than a learnt embedding: the weight of each
    row's pitch class in the key's Krumhansl profile (scaled to 0..1) and a tonic marker,
    so the network sees *which rows* belong to the key, and a transposed window gets a
    transposed label for free. ``cfg.lowest_pitch`` names row 0's MIDI pitch.
    """
    from studio.core.keys import MAJOR_PROFILE, MINOR_PROFILE

    out = torch.zeros(batch, KEY_PLANES, cfg.n_steps, cfg.n_pitches, device=device, dtype=dtype)
    if keys is None:
        return out
    keys = keys.to(device=device, dtype=torch.long).reshape(-1)
    if keys.numel() == 1 and batch > 1:
        keys = keys.expand(batch)
    profiles = torch.tensor(
        np.stack([MAJOR_PROFILE, MINOR_PROFILE]), device=device, dtype=torch.float32
    )
    profiles = (profiles - profiles.min()) / (profiles.max() - profiles.min())
    known = keys >= 0
    k = keys.clamp_min(0)
    tonic, minor = k % 12, k // 12
    pc = (torch.arange(cfg.n_pitches, device=device) + cfg.lowest_pitch) % 12  # [P]
    degree = (pc[None, :] - tonic[:, None]) % 12  # [B, P]
    weight = profiles[minor[:, None], degree] * known[:, None]
    tonic_rows = (degree == 0).float() * known[:, None]
    mode = torch.where(minor == 1, -1.0, 1.0) * known
    rows = torch.stack([weight, tonic_rows, mode[:, None].expand(-1, cfg.n_pitches)], dim=1)
    return out + rows[:, :, None, :].to(dtype)


PHRASE_INPUT_GAIN = 8.0
# The phrase bias's output gain: Adam moves a weight by about its learning rate per step,
# so at gain 1 the zero-started bias shifted a logit by ~0.1 after 250 CPU steps (lr 1e-4)
# where a held cadence needs ~2; at 32 it can get there in a couple of hundred steps.
PHRASE_BIAS_GAIN = 32.0


def phrase_planes(
    cfg: ModelConfig,
    phrases: torch.Tensor | None,
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``[B, PHRASE_PLANES, S, P]`` from per-step phrase marks ``[B or 1, PHRASE_PLANES, S]``
    (`studio.ml.phrases`: known, cadence); None: phrase ends unknown (all zeros).

    The marks enter at `PHRASE_INPUT_GAIN`: their weights start at zero when a trained
    model is given them (`train.warm_start`), and Adam moves a weight by about its
    learning rate per step whatever the input's size, so a larger input makes the same
    steps count for more (measured: at gain 1, after 500 CPU fine-tuning steps their
    stem weights were a tenth the size of the others' and the plan changed nothing).
    """
    if phrases is None:
        return torch.zeros(
            batch, PHRASE_PLANES, cfg.n_steps, cfg.n_pitches, device=device, dtype=dtype
        )
    marks = phrases.to(device=device, dtype=dtype) * PHRASE_INPUT_GAIN
    if marks.shape[0] == 1 and batch > 1:
        marks = marks.expand(batch, -1, -1)
    return marks[:, :, :, None].expand(-1, -1, -1, cfg.n_pitches)


METRE_PLANES = 2  # log2 of the bar's and of the counted beat's length, against 4/4's
# Input gain of the metre planes. log2 lengths against 4/4's are small (3/4's bar: -0.42)
# next to the other planes' ±1, and a warm start gives their weights zeros: at gain 1 Adam
# would move them as slowly as it moved the phrase planes' at gain 1 (see `phrase_planes`).
METRE_PLANE_GAIN = 4.0


def metre_length_planes(
    cfg: ModelConfig,
    metres: torch.Tensor | None,
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``[B, METRE_PLANES, S, P]``, each constant over the window: the bar's length and the
    counted beat's (quarter in 3/4, dotted quarter in 6/8, half in 2/2) as log2 of their
    lengths in quarters against 4/4's (4 and 1), times `METRE_PLANE_GAIN`.

    The coordinate planes give the bar's *phase*; to know its length from them the network
    has to work out how fast that phase turns, and it did not (models/bach-default.md,
    *Stop 30*: told 4/4 or 3/4, it read Bach's 3/4 windows equally well). These planes
    state the length outright. 4/4 gives zeros, so a model warm-started with them (zero
    weights for new planes, `train.warm_start`) writes 4/4 exactly as its source did.
    ``metres`` None: the config's fixed bar and a quarter beat, as the coordinate planes.
    """
    bar, beat = _bar_and_beat_steps(cfg, device, metres)
    quarter = float(cfg.steps_per_beat)  # lengths in quarters, against 4/4's 4 and 1
    values = torch.cat([torch.log2(bar / (4 * quarter)), torch.log2(beat / quarter)], dim=1)
    values = values * METRE_PLANE_GAIN
    planes = values[:, :, None, None].expand(-1, -1, cfg.n_steps, cfg.n_pitches)
    if planes.shape[0] == 1 and batch > 1:
        planes = planes.expand(batch, -1, -1, -1)
    return planes.to(dtype)


N_COORDS = 5


def _coords(
    cfg: ModelConfig, like: torch.Tensor, batch: int, metres: torch.Tensor | None
) -> torch.Tensor:
    planes = coordinate_planes(cfg, like.device, like.dtype, metres)
    return planes.expand(batch, -1, -1, -1) if planes.shape[0] == 1 else planes


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, c), c)


class ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = _norm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), 0.2)


class ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = ConvBlock(c, c)
        self.b = nn.Conv2d(c, c, 3, padding=1)
        self.norm = _norm(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.norm(self.b(self.a(x))), 0.2)


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cfg.check()
        self.cfg = cfg
        ch = cfg.g_channels
        t = cfg.n_tracks
        self.stem = ConvBlock(3 * t + N_COORDS + cfg.extra_planes, ch[0])
        self.down = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(ch[k], ch[k + 1], 4, stride=2, padding=1),
                _norm(ch[k + 1]),
                nn.LeakyReLU(0.2),
                ConvBlock(ch[k + 1], ch[k + 1]),
            )
            for k in range(cfg.levels)
        )
        f = 2**cfg.levels
        self.bottom_shape = (ch[-1], cfg.n_steps // f, cfg.n_pitches // f)
        self.z_map = nn.Linear(cfg.z_dim, math.prod(self.bottom_shape))
        self.fuse = nn.Sequential(
            nn.Conv2d(2 * ch[-1], ch[-1], 1), _norm(ch[-1]), nn.LeakyReLU(0.2)
        )
        self.res = nn.Sequential(*(ResBlock(ch[-1]) for _ in range(cfg.res_blocks)))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(ch[k + 1], ch[k], 4, stride=2, padding=1)
            for k in reversed(range(cfg.levels))
        )
        self.merge = nn.ModuleList(ConvBlock(2 * ch[k], ch[k]) for k in reversed(range(cfg.levels)))
        self.film = nn.ModuleList(
            nn.Linear(cfg.z_dim, 2 * ch[k]) for k in reversed(range(cfg.levels))
        )
        self.head = nn.Conv2d(ch[0], 2 * t, 1)
        if cfg.phrase_conditioning:
            # A direct, learnt path from the phrase marks to every voice's onset and hold
            # logits around each step (a beat either side), the same for every pitch row:
            # "no new note here, hold the chord" is one bias per step, which the deep path
            # from the input planes learns only slowly (see `phrase_planes`). Zero at the
            # start, so a warm-started model first computes what its source did.
            reach = cfg.steps_per_beat
            self.phrase_bias = nn.Conv1d(PHRASE_PLANES, 2 * t, 2 * reach + 1, padding=reach)
            nn.init.zeros_(self.phrase_bias.weight)
            nn.init.zeros_(self.phrase_bias.bias)
        # Start at the data's sparsity rather than at p=0.5: a voice sounds on about one
        # pitch row of the window and starts a note on about one step in eight, so the
        # per-pitch probabilities summed over the rows start near the data's rates and
        # the BCE term spends its first steps on music, not on the bias.
        with torch.no_grad():
            self.head.bias[:t].fill_(-math.log(cfg.n_pitches))
            self.head.bias[t:].fill_(-math.log(8 * cfg.n_pitches))

    def forward(
        self,
        z: torch.Tensor,
        context: torch.Tensor,
        mask: torch.Tensor,
        metres: torch.Tensor | None = None,
        keys: torch.Tensor | None = None,
        phrases: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``metres`` ``[B, 2]`` (None: the config's fixed bar); ``keys`` ``[B]`` key labels
        (-1 any; used only when ``cfg.key_conditioning``); ``phrases`` ``[B, 2, S]`` phrase
        marks (None: unknown; used only when ``cfg.phrase_conditioning``)."""
        b = z.shape[0]
        cfg = self.cfg
        m = mask[:, :, :, None].expand(-1, -1, -1, cfg.n_pitches).to(context.dtype)
        inputs = [context * m.repeat(1, 2, 1, 1), m, _coords(cfg, context, b, metres)]
        if cfg.key_conditioning:
            inputs.append(key_planes(cfg, keys, b, context.device, context.dtype))
        if cfg.phrase_conditioning:
            inputs.append(phrase_planes(cfg, phrases, b, context.device, context.dtype))
        if cfg.metre_planes:
            inputs.append(metre_length_planes(cfg, metres, b, context.device, context.dtype))
        x = self.stem(torch.cat(inputs, dim=1))
        skips = [x]
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        zmap = self.z_map(z).view(b, *self.bottom_shape)
        x = self.res(self.fuse(torch.cat([skips.pop(), zmap], dim=1)))
        for up, merge, film in zip(self.up, self.merge, self.film, strict=True):
            x = F.leaky_relu(up(x), 0.2)
            x = merge(torch.cat([x, skips.pop()], dim=1))
            scale, shift = film(z).chunk(2, dim=1)
            x = x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]
        out = self.head(x)
        if cfg.phrase_conditioning and phrases is not None:
            marks = phrases.to(device=out.device, dtype=out.dtype)
            if marks.shape[0] == 1 and b > 1:
                marks = marks.expand(b, -1, -1)
            out = out + PHRASE_BIAS_GAIN * self.phrase_bias(marks)[:, :, :, None]
        return out


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cfg.check()
        self.cfg = cfg
        ch = cfg.d_channels
        t = cfg.n_tracks
        cin = 3 * t + N_COORDS + cfg.extra_planes
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(cin, ch[0], 3, padding=1))]
        for k in range(len(ch) - 1):
            layers.append(spectral_norm(nn.Conv2d(ch[k], ch[k + 1], 4, stride=2, padding=1)))
        self.convs = nn.ModuleList(layers)
        self.out = spectral_norm(nn.Linear(ch[-1], 1))

    def forward(
        self,
        roll: torch.Tensor,
        mask: torch.Tensor,
        return_features: bool = False,
        metres: torch.Tensor | None = None,
        keys: torch.Tensor | None = None,
        phrases: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        b = roll.shape[0]
        cfg = self.cfg
        m = mask[:, :, :, None].expand(-1, -1, -1, cfg.n_pitches).to(roll.dtype)
        inputs = [roll, m, _coords(cfg, roll, b, metres)]
        if cfg.key_conditioning:
            inputs.append(key_planes(cfg, keys, b, roll.device, roll.dtype))
        if cfg.phrase_conditioning:
            inputs.append(phrase_planes(cfg, phrases, b, roll.device, roll.dtype))
        if cfg.metre_planes:
            inputs.append(metre_length_planes(cfg, metres, b, roll.device, roll.dtype))
        x = torch.cat(inputs, dim=1)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        features = x.mean(dim=(2, 3))  # mean, not sum: keeps scores O(1) at any size
        score = self.out(features).squeeze(1)
        return (score, features) if return_features else score


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def flops_per_sample(cfg: ModelConfig) -> dict[str, float]:
    """Forward FLOPs of G and D for one sample (torch's FLOP counter: 2 × multiply-adds)."""
    from torch.utils.flop_counter import FlopCounterMode

    g, d = Generator(cfg), Discriminator(cfg)
    z = torch.zeros(1, cfg.z_dim)
    ctx = torch.zeros(1, 2 * cfg.n_tracks, cfg.n_steps, cfg.n_pitches)
    mask = torch.zeros(1, cfg.n_tracks, cfg.n_steps)
    out: dict[str, float] = {}
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            g(z, ctx, mask)
        out["generator"] = float(counter.get_total_flops())
        with FlopCounterMode(display=False) as counter:
            d(ctx, mask)
        out["discriminator"] = float(counter.get_total_flops())
    # One training step per sample: G forward+backward (3×G), the D step on real and fake
    # (2 × 3×D) and the G step's pass through D (3×D); backward costs ~2× forward.
    out["train_step"] = 3 * out["generator"] + 9 * out["discriminator"]
    return out
