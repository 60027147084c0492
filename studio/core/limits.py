"""What Pianola agrees to read: every limit on songs, MIDI files and projects, in one place.

The MIDI reader, the project loader and training ingestion all apply these, while they
read, so no file can make Pianola wait long or fill memory before it gets an answer, and
every song that loads can be saved again. The values are far above any score a person
writes; a file beyond them is refused with a message that names the limit.

=========================  ===================  ==============================================
limit                      value                why
=========================  ===================  ==============================================
``MAX_MIDI_BYTES``         64 MiB               the largest MIDI file read at all
``MAX_PROJECT_BYTES``      128 MiB              the largest project file read at all
``MAX_NOTES``              3,000,000            notes in one song
``MAX_CONTROLLERS``        3,000,000            controller and pitch-bend events in one song
``MAX_EVENTS``             8,000,000            events of any kind in one MIDI file: bounds the
                                                time a read takes (a few seconds)
``MAX_TRACKS``             1,024                tracks of one song (file tracks x channels)
``MAX_BEATS``              200,000              song length: about 28 hours at 120 bpm
``MAX_TICK``               268,435,455          the latest tick anything may sit at: the longest
                                                step one MIDI event can take, so a song that
                                                loads can always be written back as MIDI
=========================  ===================  ==============================================

A song's latest allowed tick is ``max_song_tick(ticks_per_beat)``: the smaller of
``MAX_TICK`` and ``MAX_BEATS`` beats.
"""

from __future__ import annotations

MAX_MIDI_BYTES = 64 * 1024 * 1024
MAX_PROJECT_BYTES = 128 * 1024 * 1024
MAX_NOTES = 3_000_000
MAX_CONTROLLERS = 3_000_000
MAX_EVENTS = 8_000_000
MAX_TRACKS = 1024
MAX_BEATS = 200_000
MAX_TICK = 0x0FFFFFFF  # largest value a 4-byte MIDI variable-length quantity holds


def max_song_tick(ticks_per_beat: int) -> int:
    """The latest tick a song at this resolution may use (a note's end included)."""
    return min(MAX_TICK, MAX_BEATS * int(ticks_per_beat))


def describe_tick_limit(ticks_per_beat: int) -> str:
    """The tick limit in words, for error messages."""
    limit = max_song_tick(ticks_per_beat)
    beats = limit // int(ticks_per_beat)
    return f"tick {limit:,} ({beats:,} beats at {ticks_per_beat} ticks per beat)"
