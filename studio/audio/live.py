"""Playing along: the sound of a key held on a MIDI keyboard, rendered once and reused.

A held note is rendered as a note of `HOLD_SECONDS` (its release tail included) and cut
with a short fade when the key goes up (`Player.release`). Rendering costs about 8 ms
per second of sound on the UI thread, so renders are cached per instrument, pitch and
velocity step: a keyboard player strikes the same keys again and again, and from the
second time on a key sounds with no render at all.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from studio.audio.synth import Synth

HOLD_SECONDS = 1.5  # longer holds end with the note's natural release
VELOCITY_STEP = 8  # monitoring only: the recorded note keeps its exact velocity
CACHE_NOTES = 48  # ~0.6 MB each at 44.1 kHz


class HeldNoteCache:
    """Rendered held notes keyed by (program, drum, pitch, velocity step), least recent out."""

    def __init__(self, synth: Synth, seconds: float = HOLD_SECONDS, size: int = CACHE_NOTES):
        self.synth = synth
        self.seconds = float(seconds)
        self.size = int(size)
        self._cache: OrderedDict[tuple[int, bool, int, int], np.ndarray] = OrderedDict()
        self.renders = 0

    def note(self, program: int, is_drum: bool, pitch: int, velocity: int) -> np.ndarray:
        rounded_up = -(-int(velocity) // VELOCITY_STEP) * VELOCITY_STEP
        step = max(1, min(127, rounded_up))
        key = (int(program), bool(is_drum), int(pitch), step)
        audio = self._cache.get(key)
        if audio is None:
            audio = self.synth.render_note(program, is_drum, pitch, step, self.seconds)
            np.clip(audio, -1.0, 1.0, out=audio)
            audio.setflags(write=False)  # shared by every strike of this key
            self.renders += 1
            self._cache[key] = audio
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return audio
