"""Keys and scales for scale assist: which of the 128 MIDI pitches belong to a scale."""

from __future__ import annotations

import numpy as np

from studio.core.song import Notes

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# Semitone offsets from the tonic.
SCALES: dict[str, tuple[int, ...]] = {
    "Chromatic": tuple(range(12)),
    "Major": (0, 2, 4, 5, 7, 9, 11),
    "Natural minor": (0, 2, 3, 5, 7, 8, 10),
    "Harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "Melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "Dorian": (0, 2, 3, 5, 7, 9, 10),
    "Phrygian": (0, 1, 3, 5, 7, 8, 10),
    "Lydian": (0, 2, 4, 6, 7, 9, 11),
    "Mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "Locrian": (0, 1, 3, 5, 6, 8, 10),
    "Major pentatonic": (0, 2, 4, 7, 9),
    "Minor pentatonic": (0, 3, 5, 7, 10),
    "Blues": (0, 3, 5, 6, 7, 10),
}


def pitch_name(pitch: int) -> str:
    """Scientific pitch name with middle C (60) as C4."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def scale_mask(key: int, scale: str) -> np.ndarray:
    """Boolean mask over the 128 MIDI pitches: True where the pitch is in the scale."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    if not 0 <= key < 12:
        raise ValueError(f"key must be a pitch class 0-11, got {key}")
    classes = np.zeros(12, dtype=bool)
    classes[[(key + step) % 12 for step in SCALES[scale]]] = True
    return classes[np.arange(128) % 12]


def out_of_scale_ids(notes: Notes, key: int, scale: str) -> np.ndarray:
    """Ids of the notes whose pitch is outside the scale."""
    mask = scale_mask(key, scale)
    return notes.ids[~mask[notes.pitch.astype(np.int64)]]
