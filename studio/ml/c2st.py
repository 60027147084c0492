"""Classifier two-sample tests (C2ST; Lopez-Paz & Oquab, "Revisiting Classifier
Two-Sample Tests", ICLR 2017) on four-part piano-roll windows.

A classifier is trained to tell set A (e.g. generated windows) from set B (held-out Bach)
and scored on folds it did not train on: accuracy near 0.5 means it cannot tell them
apart, near 1.0 that they are easy to tell. Two classifiers, as issue 12 asks:

* a *feature* classifier (a small MLP on per-window statistics of pitch, rhythm and
  texture: `window_features`), and
* a small *convolutional* classifier on the rolls themselves.

Each score only means something next to the same classifier's *real-vs-real* score
(training chorales against held-out ones), which `c2st_report` computes alongside.
Everything is seeded and balanced (the larger set is subsampled), so reruns agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from studio.core.pianoroll import ONSET
from studio.ml.metrics import top_pitch

LENGTH_EDGES = (1, 2, 3, 5, 9)  # note-length buckets (steps): 1, 2, 3-4, 5-8, 9+
# What each column of `window_features` measures, in order (kept beside the code that
# computes them; a test checks the counts agree).
VOICE_FEATURES = (
    "mean pitch",
    "pitch spread (std)",
    "pitch range",
    "share of steps silent",
    "notes per step",
    "share of 1-step notes",
    "share of 2-step notes",
    "share of 3-4-step notes",
    "share of 5-8-step notes",
    "share of notes of 9+ steps",
    "mean interval (semitones)",
    "share of leaps > 4 semitones",
    "share of repeated notes",
    "share of notes starting on a beat",
    "share of notes >= 2 beats",
)
TEXTURE_FEATURES = (
    "pitches sounding per step",
    "share of steps with every voice",
    "share of steps with an onset",
    "pitch-class entropy",
    "pitch classes used",
)
CONV_STEPS = 300  # mini-batches of 32 per fold


def _voice_features(top: np.ndarray, onset: np.ndarray, steps_per_beat: int) -> list[float]:
    """Pitch, rhythm and line statistics of one voice's top line ``[S]``."""
    sounding = top >= 0
    pitches = top[sounding]
    starts = np.flatnonzero(onset | (sounding & ~np.concatenate([[False], sounding[:-1]])))
    bounds = np.append(starts, len(top))
    lengths = np.diff(bounds)
    # A note's length ends at the next start or the first silent step.
    lengths = np.array(
        [
            min(n, int(np.argmin(sounding[s : s + n])) or n)
            for s, n in zip(starts, lengths, strict=True)
        ]
    )
    note_pitches = top[starts] if len(starts) else np.zeros(0)
    steps = np.abs(np.diff(note_pitches)) if len(note_pitches) > 1 else np.zeros(0)
    buckets = np.searchsorted(LENGTH_EDGES, lengths, side="right") - 1 if len(lengths) else []
    hist = np.bincount(np.asarray(buckets, int), minlength=len(LENGTH_EDGES))[: len(LENGTH_EDGES)]
    hist = hist / max(hist.sum(), 1)
    on_beat = (starts % steps_per_beat == 0).mean() if len(starts) else 0.0
    return [
        float(pitches.mean()) if len(pitches) else 0.0,
        float(pitches.std()) if len(pitches) else 0.0,
        float(np.ptp(pitches)) if len(pitches) else 0.0,
        float(1.0 - sounding.mean()),
        float(len(starts) / len(top)),
        *map(float, hist),
        float(steps.mean()) if len(steps) else 0.0,
        float((steps > 4).mean()) if len(steps) else 0.0,
        float((steps == 0).mean()) if len(steps) else 0.0,
        float(on_beat),
        float((lengths >= 2 * steps_per_beat).mean()) if len(lengths) else 0.0,
    ]


def window_features(rolls: np.ndarray, steps_per_beat: int) -> np.ndarray:
    """``[N, F]`` simple per-window statistics of pitch, rhythm and texture."""
    rolls = np.asarray(rolls)
    n, t, _s, _p = rolls.shape
    tops = top_pitch(rolls)
    onsets = (rolls == ONSET).any(axis=-1)
    rows = []
    for i in range(n):
        feats: list[float] = []
        for k in range(t):
            feats += _voice_features(tops[i, k], onsets[i, k], steps_per_beat)
        sounding = rolls[i] > 0  # [T, S, P]
        per_step = sounding.any(axis=0).sum(axis=-1)  # distinct pitches per step
        voices = (tops[i] >= 0).sum(axis=0)
        chroma = np.bincount(np.nonzero(sounding)[2] % 12, minlength=12)[:12].astype(float)
        chroma_p = chroma / max(chroma.sum(), 1)
        entropy = -np.sum(chroma_p[chroma_p > 0] * np.log2(chroma_p[chroma_p > 0]))
        gaps = [
            float(np.mean((tops[i, k] - tops[i, k + 1])[(tops[i, k] >= 0) & (tops[i, k + 1] >= 0)]))
            if np.any((tops[i, k] >= 0) & (tops[i, k + 1] >= 0))
            else 0.0
            for k in range(t - 1)
        ]
        feats += [
            float(per_step.mean()),
            float((voices == t).mean()),
            float(onsets[i].any(axis=0).mean()),
            float(entropy),
            float((chroma_p > 0.02).sum()),
            *gaps,
        ]
        rows.append(feats)
    return np.nan_to_num(np.asarray(rows, dtype=np.float32))


def feature_names(n_tracks: int) -> list[str]:
    """Names of `window_features`' columns for ``n_tracks`` voices (top voice first)."""
    voices = "SATB" if n_tracks == 4 else [f"voice {k + 1}" for k in range(n_tracks)]
    names = [f"{v}: {f}" for v in voices for f in VOICE_FEATURES] + list(TEXTURE_FEATURES)
    return names + [f"gap {voices[k]}-{voices[k + 1]} (semitones)" for k in range(n_tracks - 1)]


def auc(a: np.ndarray, b: np.ndarray) -> float:
    """P(a row of ``a`` > a row of ``b``), ties counting half (Mann-Whitney U / n_a n_b)."""
    _values, inverse, counts = np.unique(
        np.concatenate([a, b]), return_inverse=True, return_counts=True
    )
    midrank = np.cumsum(counts) - (counts - 1) / 2  # 1-based average rank of each value
    rank_sum = midrank[inverse[: len(a)]].sum()
    return float((rank_sum - len(a) * (len(a) + 1) / 2) / (len(a) * len(b)))


def feature_giveaways(
    a: np.ndarray, b: np.ndarray, steps_per_beat: int, top: int = 8
) -> list[dict[str, float | str]]:
    """The single `window_features` that tell windows ``a`` from ``b`` best: per feature
    the AUC of telling them apart by it alone (0.5: no tell; 1 or 0: a perfect one) and
    its mean in each set, the ``top`` furthest from 0.5 first. What the feature
    classifier's score is made of, in words a composer reads."""
    fa, fb = window_features(a, steps_per_beat), window_features(b, steps_per_beat)
    names = feature_names(np.asarray(a).shape[1])
    rows = [
        {
            "feature": name,
            "auc": auc(fa[:, k], fb[:, k]),
            "mean_a": float(fa[:, k].mean()),
            "mean_b": float(fb[:, k].mean()),
        }
        for k, name in enumerate(names)
    ]
    rows.sort(key=lambda r: -abs(float(r["auc"]) - 0.5))
    return rows[:top]


# ----------------------------------------------------------------------------- models
class _FeatureNet(nn.Module):
    def __init__(self, n_features: int, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class _ConvNet(nn.Module):
    """A deliberately small critic-like classifier over [voices x 2 planes, steps, pitches]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        # The strided first layer keeps the test cheap on a CPU (it runs 5 folds x 4 pairs).
        self.net = nn.Sequential(
            nn.Conv2d(channels, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(32, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def roll_planes(rolls: np.ndarray) -> np.ndarray:
    """``[N, 2T, S, P]`` float32: each voice's sounding and onset planes."""
    rolls = np.asarray(rolls)
    frames = (rolls > 0).astype(np.float32)
    onsets = (rolls == ONSET).astype(np.float32)
    return np.concatenate([frames, onsets], axis=1)


Trainer = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def train_features(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, seed: int) -> np.ndarray:
    """The feature classifier's guesses for ``x_te`` once trained on ``x_tr``/``y_tr``."""
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0) + 1e-6
    torch.manual_seed(seed)
    net = _FeatureNet(x_tr.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-3)
    xt = torch.from_numpy((x_tr - mean) / std)
    yt = torch.from_numpy(y_tr.astype(np.float32))
    for _ in range(150):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(net(xt), yt).backward()
        opt.step()
    with torch.no_grad():
        return (net(torch.from_numpy((x_te - mean) / std)) > 0).numpy()


def _train_conv(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, seed: int) -> np.ndarray:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = _ConvNet(x_tr.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr.astype(np.float32))
    # A fixed number of mini-batch steps, whatever the set's size: small sets still fit,
    # large ones do not cost more.
    for _ in range(CONV_STEPS):
        idx = torch.randint(len(xt), (32,), generator=gen)
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(net(xt[idx]), yt[idx]).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        return (net(torch.from_numpy(x_te)) > 0).numpy()


# ----------------------------------------------------------------------------- the test
@dataclass(frozen=True)
class C2STScore:
    accuracy: float  # mean held-out-fold accuracy (0.5 = indistinguishable)
    n_per_set: int
    folds: int

    def as_dict(self) -> dict[str, float | int]:
        return {"accuracy": self.accuracy, "n_per_set": self.n_per_set, "folds": self.folds}


@contextmanager
def _one_thread() -> Iterator[None]:
    """These classifiers are tiny: extra intra-op threads only spin (4x the CPU time
    measured on a busy 2-core machine), and they would steal from a training run."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fold_of(groups: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number of each row, whole groups at a time: windows cut from one chorale
    overlap and share its tune, so a classifier that saw some of them would recognise the
    rest, and the test would measure memory instead of a difference between the sets."""
    unique, inverse = np.unique(groups, return_inverse=True)
    order = rng.permutation(len(unique))
    fold_of_group = np.empty(len(unique), np.int64)
    fold_of_group[order] = np.arange(len(unique)) % folds
    return fold_of_group[inverse]


def two_sample_accuracy(
    a: np.ndarray,
    b: np.ndarray,
    train: Trainer,
    seed: int = 0,
    folds: int = 5,
    groups_a: np.ndarray | None = None,
    groups_b: np.ndarray | None = None,
) -> C2STScore:
    """Balanced k-fold C2ST accuracy of ``train`` telling rows of ``a`` from rows of ``b``.

    ``groups_a``/``groups_b`` (e.g. the source file of each window) keep every group in one
    fold; rows without groups are each their own group."""
    rng = np.random.default_rng(seed)
    n = min(len(a), len(b))
    if n < folds:
        raise ValueError(f"need at least {folds} windows per set, got {n}")
    pick_a = rng.choice(len(a), n, replace=False)
    pick_b = rng.choice(len(b), n, replace=False)
    ga = np.arange(len(a)) if groups_a is None else np.asarray(groups_a)
    gb = np.arange(len(b)) if groups_b is None else np.asarray(groups_b)
    # Distinct labels for the two sets' groups: offset b's past a's.
    ga_codes = np.unique(ga[pick_a], return_inverse=True)[1]
    gb_codes = np.unique(gb[pick_b], return_inverse=True)[1] + ga_codes.max() + 1
    x = np.concatenate([a[pick_a], b[pick_b]])
    y = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    fold = _fold_of(np.concatenate([ga_codes, gb_codes]), folds, rng)
    correct = tested = 0
    with _one_thread():
        for k in range(folds):
            test = np.flatnonzero(fold == k)
            train_idx = np.flatnonzero(fold != k)
            if not len(test) or len(np.unique(y[train_idx])) < 2:
                continue
            guess = train(x[train_idx], y[train_idx], x[test], seed + k)
            correct += int((guess == y[test]).sum())
            tested += len(test)
    return C2STScore(correct / max(tested, 1), n, folds)


Groups = tuple[np.ndarray | None, np.ndarray | None]


def feature_c2st(
    a: np.ndarray, b: np.ndarray, steps_per_beat: int, seed: int = 0, groups: Groups = (None, None)
) -> C2STScore:
    """C2ST of the feature classifier on two sets of rolls."""
    fa, fb = window_features(a, steps_per_beat), window_features(b, steps_per_beat)
    return two_sample_accuracy(fa, fb, train_features, seed, 5, *groups)


def conv_c2st(
    a: np.ndarray, b: np.ndarray, seed: int = 0, groups: Groups = (None, None)
) -> C2STScore:
    """C2ST of the convolutional classifier on two sets of rolls."""
    return two_sample_accuracy(roll_planes(a), roll_planes(b), _train_conv, seed, 5, *groups)


def real_vs_real(
    training: np.ndarray,
    heldout: np.ndarray,
    steps_per_beat: int,
    seed: int = 0,
    groups: Groups = (None, None),
) -> dict[str, dict[str, float | int]]:
    """Both classifiers on training-vs-held-out windows: the baseline a generated set's
    score should approach. ``groups``: (training, held-out) source file of each window."""
    return {
        "feature_real_vs_real": feature_c2st(
            training, heldout, steps_per_beat, seed, groups
        ).as_dict(),
        "conv_real_vs_real": conv_c2st(training, heldout, seed, groups).as_dict(),
    }


def c2st_report(
    generated: np.ndarray,
    heldout: np.ndarray,
    training: np.ndarray | None,
    steps_per_beat: int,
    seed: int = 0,
    baseline: dict[str, dict[str, float | int]] | None = None,
    heldout_groups: np.ndarray | None = None,
) -> dict[str, dict[str, float | int]]:
    """Both classifiers on generated-vs-held-out, beside the real-vs-real baseline
    (computed from ``training`` unless an earlier ``baseline`` is passed in).
    ``heldout_groups``: the source file of each held-out window (folds keep files whole)."""
    if baseline is None:
        if training is None:
            raise ValueError("pass training windows or a real-vs-real baseline")
        baseline = real_vs_real(training, heldout, steps_per_beat, seed, (None, heldout_groups))
    groups = (None, heldout_groups)
    return {
        "feature": feature_c2st(generated, heldout, steps_per_beat, seed, groups).as_dict(),
        "conv": conv_c2st(generated, heldout, seed, groups).as_dict(),
        **baseline,
    }
