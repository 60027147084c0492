"""Keys: parse what a composer types ("G minor", "F#", "Bb minor") and estimate a key.

The estimate is Krumhansl-Schmuckler: correlate a duration-weighted pitch-class
histogram with the 24 rotations of the Krumhansl-Kessler probe-tone profiles
(Krumhansl, *Cognitive Foundations of Musical Pitch*, 1990) and take the best. It is the
standard yardstick for "did the sample come out in the key we asked for" (issue 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Krumhansl-Kessler probe-tone ratings, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

SHARP_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*([#♯b♭]?)\s*(major|minor|maj|min|m)?\s*$", re.IGNORECASE)

ACCEPTED_FORMS = '"C", "C major", "G minor", "F# major", "Bb minor", "Ebm" (♯/♭ also work)'


class KeyNameError(ValueError):
    """A key name that cannot be read; the message lists the accepted forms."""


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0-11 (C = 0)
    mode: str  # "major" or "minor"

    def __post_init__(self) -> None:
        if not 0 <= self.tonic < 12 or self.mode not in ("major", "minor"):
            raise KeyNameError(f"not a key: tonic {self.tonic}, mode {self.mode!r}")

    @property
    def name(self) -> str:
        return f"{SHARP_NAMES[self.tonic]} {self.mode}"

    @property
    def index(self) -> int:
        """0-11 major keys by tonic, 12-23 minor keys: a compact class label."""
        return self.tonic + (12 if self.mode == "minor" else 0)

    @classmethod
    def from_index(cls, index: int) -> Key:
        return cls(index % 12, "minor" if index >= 12 else "major")

    def __str__(self) -> str:
        return self.name


def parse_key(text: str) -> Key:
    """ "G minor" -> Key(7, "minor"); a bare letter is major; "m"/"min" mean minor."""
    match = _KEY_RE.match(text or "")
    if not match:
        raise KeyNameError(f"cannot read the key {text!r}; use a form like {ACCEPTED_FORMS}")
    letter, accidental, mode = match.groups()
    # A lower-case "b" right after the letter is a flat, never the note B.
    tonic = (_LETTERS[letter.upper()] + _ACCIDENTALS[accidental]) % 12
    minor = mode is not None and mode.lower() in ("minor", "min", "m")
    if mode == "M":  # "CM" is the usual shorthand for C major
        minor = False
    return Key(tonic, "minor" if minor else "major")


def _centred_profiles() -> np.ndarray:
    """``[24, 12]`` key profiles (index as `Key.index`), centred and unit length."""
    rows = [
        np.roll(profile, tonic) for profile in (MAJOR_PROFILE, MINOR_PROFILE) for tonic in range(12)
    ]
    prof = np.asarray(rows, dtype=float)
    prof = prof - prof.mean(axis=1, keepdims=True)
    return prof / np.linalg.norm(prof, axis=1, keepdims=True)


# Pearson correlation with a profile is the dot product of the two centred unit vectors:
# one matrix product scores all 24 keys (24 np.corrcoef calls took 3-4 ms a song, a tenth
# of a generation draft's time when every variation's key is estimated).
CENTRED_PROFILES = _centred_profiles()


def key_scores(pc_weights: np.ndarray) -> np.ndarray:
    """Correlation of a 12-bin pitch-class histogram with each of the 24 key profiles
    (index as `Key.index`). A silent histogram scores 0 everywhere."""
    h = np.asarray(pc_weights, dtype=float)
    if h.shape != (12,):
        raise ValueError(f"expected 12 pitch-class weights, got shape {h.shape}")
    if not np.any(h > 0) or np.allclose(h, h[0]):
        return np.zeros(24)
    centred = h - h.mean()
    return CENTRED_PROFILES @ (centred / np.linalg.norm(centred))


def estimate_key(pc_weights: np.ndarray) -> Key | None:
    """The Krumhansl-Schmuckler key of a pitch-class histogram, None when it is silent."""
    scores = key_scores(pc_weights)
    if not np.any(scores):
        return None
    return Key.from_index(int(np.argmax(scores)))


def pitch_class_weights(pitches: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """Duration-weighted pitch-class histogram of notes (MIDI pitches, any duration unit)."""
    pitches = np.asarray(pitches, dtype=np.int64)
    durations = np.asarray(durations, dtype=float)
    return np.bincount(pitches % 12, weights=durations, minlength=12)[:12]
