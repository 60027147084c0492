"""The editor's commands, declared once as records for the command registry.

The window's registry (``studio.ui.commands``) turns them into the menus, the tool bar's
actions, the key bindings and the rows of Help ▸ Keyboard Shortcuts. Callbacks take the
document and the editor (for the snap grid, paste position and dialogs), never a menu or
a button.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtGui import QKeySequence

from studio.core import edits
from studio.core.scales import out_of_scale_ids
from studio.ui.commands import Command
from studio.ui.document import SongDocument

if TYPE_CHECKING:
    from studio.ui.editor.editor import PianoRollEditor

Key = QKeySequence.StandardKey


# -- callbacks ---------------------------------------------------------------------------
def _track(doc: SongDocument) -> int:
    return doc.active_track


def _has_track(doc: SongDocument) -> bool:
    return doc.active() is not None


def copy(doc: SongDocument, editor: PianoRollEditor) -> None:
    notes = doc.active_notes()
    if len(doc.selection):
        doc.clipboard = notes.take(notes.indices_of_ids(doc.selection))


def cut(doc: SongDocument, editor: PianoRollEditor) -> None:
    if len(doc.selection):
        copy(doc, editor)
        doc.push(edits.DeleteNotes(_track(doc), doc.selection), "Cut")


def paste(doc: SongDocument, editor: PianoRollEditor) -> None:
    if doc.clipboard is None or not len(doc.clipboard) or not _has_track(doc):
        return
    doc.push(edits.Paste(_track(doc), doc.clipboard, editor.paste_tick()), "Paste")


def duplicate(doc: SongDocument, editor: PianoRollEditor) -> None:
    if not len(doc.selection):
        return
    notes = doc.active_notes()
    block = notes.take(notes.indices_of_ids(doc.selection))
    span = int((block.start + block.duration).max() - block.start.min())
    grid = editor.grid_ticks()
    offset = max(grid, -(-span // grid) * grid)  # round the span up to whole grid steps
    doc.push(edits.Duplicate(_track(doc), doc.selection, offset), "Duplicate")


def delete(doc: SongDocument, editor: PianoRollEditor) -> None:
    if len(doc.selection):
        doc.push(edits.DeleteNotes(_track(doc), doc.selection), "Delete notes")


def transpose(semitones: int) -> Callable[[SongDocument, Any], None]:
    def run(doc: SongDocument, editor: PianoRollEditor) -> None:
        if len(doc.selection):
            doc.push(edits.Transpose(_track(doc), doc.selection, semitones), "Transpose")
            notes = doc.active_notes()
            rows = notes.indices_of_ids(doc.selection)
            if len(rows):  # hear where the top note went
                top = rows[np.argmax(notes.pitch[rows])]
                doc.request_preview(int(notes.pitch[top]), int(notes.velocity[top]))

    return run


def nudge(direction: int) -> Callable[[SongDocument, Any], None]:
    def run(doc: SongDocument, editor: PianoRollEditor) -> None:
        if len(doc.selection):
            doc.push(edits.Nudge(_track(doc), doc.selection, direction * editor.grid_ticks()))

    return run


def quantize(starts: bool, lengths: bool) -> Callable[[SongDocument, Any], None]:
    def run(doc: SongDocument, editor: PianoRollEditor) -> None:
        if _has_track(doc):
            command = edits.Quantize(
                _track(doc), doc.target_ids(), editor.grid_ticks(), 1.0, starts, lengths
            )
            doc.push(command, "Quantize")

    return run


def quantize_dialog(doc: SongDocument, editor: PianoRollEditor) -> None:
    if not _has_track(doc):
        return
    options = editor.ask_quantize()
    if options is not None:
        grid, strength, starts, lengths = options
        doc.push(
            edits.Quantize(_track(doc), doc.target_ids(), grid, strength, starts, lengths),
            "Quantize",
        )


def legato(doc: SongDocument, editor: PianoRollEditor) -> None:
    if _has_track(doc):
        doc.push(edits.Legato(_track(doc), doc.target_ids()), "Legato")


def humanize(doc: SongDocument, editor: PianoRollEditor) -> None:
    if not _has_track(doc):
        return
    options = editor.ask_humanize()
    if options is not None:
        timing, velocity, seed = options
        doc.push(edits.Humanize(_track(doc), doc.target_ids(), timing, velocity, seed), "Humanize")


def scale_velocity(doc: SongDocument, editor: PianoRollEditor) -> None:
    if not _has_track(doc):
        return
    options = editor.ask_scale_velocity()
    if options is not None:
        factor, offset = options
        doc.push(edits.ScaleVelocity(_track(doc), doc.target_ids(), factor, offset))


def select_out_of_scale(doc: SongDocument, editor: PianoRollEditor) -> None:
    state = editor.state
    doc.set_selection(out_of_scale_ids(doc.active_notes(), state.scale_key, state.scale_name))


def tool(name: str) -> Callable[[SongDocument, Any], None]:
    def run(doc: SongDocument, editor: PianoRollEditor) -> None:
        editor.state.set_tool(name)

    return run


def toggle_snap(doc: SongDocument, editor: PianoRollEditor) -> None:
    editor.state.set_snap_enabled(not editor.state.snap_enabled)


def toggle_ghosts(doc: SongDocument, editor: PianoRollEditor) -> None:
    editor.state.set_show_ghosts(not editor.state.show_ghosts)


def _zoom(axis: str, factor: float) -> Callable[[SongDocument, Any], None]:
    def run(doc: SongDocument, editor: PianoRollEditor) -> None:
        if axis == "x":
            editor.view.zoom_x(factor)
        else:
            editor.view.zoom_y(factor)

    return run


EDITOR_COMMANDS: tuple[Command[PianoRollEditor], ...] = (
    Command(
        "edit.undo",
        "Undo",
        "edit",
        lambda d, e: d.undo_stack.undo(),
        (Key.Undo,),
        section="history",
    ),
    Command(
        "edit.redo",
        "Redo",
        "edit",
        lambda d, e: d.undo_stack.redo(),
        (Key.Redo, "Ctrl+Y"),
        section="history",
    ),
    Command("edit.cut", "Cut", "edit", cut, (Key.Cut,), section="clipboard"),
    Command("edit.copy", "Copy", "edit", copy, (Key.Copy,), section="clipboard"),
    Command(
        "edit.paste",
        "Paste",
        "edit",
        paste,
        (Key.Paste,),
        "Paste at the mouse position, or at the playhead",
        section="clipboard",
    ),
    Command(
        "edit.duplicate",
        "Duplicate",
        "edit",
        duplicate,
        ("Ctrl+D",),
        "Copy the selection right after itself",
        section="clipboard",
    ),
    Command("edit.delete", "Delete", "edit", delete, ("Del", "Backspace"), section="clipboard"),
    Command(
        "edit.select_all",
        "Select All",
        "edit",
        lambda d, e: d.select_all(),
        (Key.SelectAll,),
        section="select",
    ),
    Command(
        "edit.select_none",
        "Select None",
        "edit",
        lambda d, e: d.select_none(),
        ("Ctrl+Shift+A", "Esc"),
        section="select",
    ),
    Command(
        "edit.invert_selection",
        "Invert Selection",
        "edit",
        lambda d, e: d.invert_selection(),
        ("Ctrl+I",),
        section="select",
    ),
    Command(
        "edit.select_out_of_scale",
        "Select Out-of-Scale Notes",
        "edit",
        select_out_of_scale,
        ("Ctrl+Shift+K",),
        "Select the notes outside the chosen key and scale",
        section="select",
    ),
    Command("edit.transpose_up", "Transpose Up", "edit", transpose(1), ("Up",), section="pitch"),
    Command(
        "edit.transpose_down", "Transpose Down", "edit", transpose(-1), ("Down",), section="pitch"
    ),
    Command(
        "edit.octave_up",
        "Transpose Octave Up",
        "edit",
        transpose(12),
        ("Shift+Up",),
        section="pitch",
    ),
    Command(
        "edit.octave_down",
        "Transpose Octave Down",
        "edit",
        transpose(-12),
        ("Shift+Down",),
        section="pitch",
    ),
    Command(
        "edit.nudge_left",
        "Nudge Left",
        "edit",
        nudge(-1),
        ("Left",),
        "Move the selection one snap step earlier",
        section="time",
    ),
    Command(
        "edit.nudge_right",
        "Nudge Right",
        "edit",
        nudge(1),
        ("Right",),
        "Move the selection one snap step later",
        section="time",
    ),
    Command(
        "edit.quantize",
        "Quantize Starts",
        "edit",
        quantize(True, False),
        ("Q",),
        "Snap note starts to the grid (selection, or all notes)",
        section="time",
    ),
    Command(
        "edit.quantize_lengths",
        "Quantize Starts and Lengths",
        "edit",
        quantize(True, True),
        ("Shift+Q",),
        section="time",
    ),
    Command(
        "edit.quantize_dialog",
        "Quantize…",
        "edit",
        quantize_dialog,
        ("Ctrl+Shift+Q",),
        "Quantize with a chosen grid and strength",
        section="time",
    ),
    Command(
        "edit.legato",
        "Legato",
        "edit",
        legato,
        ("L",),
        "Extend each note to the next one",
        section="time",
    ),
    Command(
        "edit.humanize",
        "Humanize…",
        "edit",
        humanize,
        ("H",),
        "Random timing and velocity variations",
        section="time",
    ),
    Command(
        "edit.scale_velocity",
        "Scale Velocity…",
        "edit",
        scale_velocity,
        ("Ctrl+Alt+V",),
        "Scale velocities of the selection",
        section="time",
    ),
    Command(
        "tools.draw",
        "Draw Tool",
        "tools",
        tool("draw"),
        ("D",),
        "Draw: click adds a note, drag sets its length; Ctrl selects",
        checkable=True,
        icon="tool-draw",
        section="tools",
    ),
    Command(
        "tools.select",
        "Select Tool",
        "tools",
        tool("select"),
        ("S",),
        "Select: click, Shift-click or drag a rubber band; drag notes to move",
        checkable=True,
        icon="tool-select",
        section="tools",
    ),
    Command(
        "tools.erase",
        "Erase Tool",
        "tools",
        tool("erase"),
        ("E",),
        "Erase: click or drag across notes",
        checkable=True,
        icon="tool-erase",
        section="tools",
    ),
    Command(
        "tools.snap",
        "Snap to Grid",
        "tools",
        toggle_snap,
        ("G",),
        "Snap to the grid (hold Alt to place freely)",
        checkable=True,
        icon="snap",
        section="snap",
    ),
    Command(
        "view.zoom_in",
        "Zoom In",
        "view",
        _zoom("x", 1.25),
        ("Ctrl+=", "Ctrl++"),
        section="zoom",
    ),
    Command(
        "view.zoom_out",
        "Zoom Out",
        "view",
        _zoom("x", 0.8),
        ("Ctrl+-",),
        section="zoom",
    ),
    Command(
        "view.zoom_in_vertical",
        "Zoom In Vertically",
        "view",
        _zoom("y", 1.2),
        ("Alt+=",),
        section="zoom",
    ),
    Command(
        "view.zoom_out_vertical",
        "Zoom Out Vertically",
        "view",
        _zoom("y", 1 / 1.2),
        ("Alt+-",),
        section="zoom",
    ),
    Command(
        "view.zoom_fit",
        "Zoom to Fit",
        "view",
        lambda d, e: e.zoom_to_fit(),
        ("F", "Ctrl+0"),
        "Show the whole song",
        section="fit",
    ),
    Command(
        "view.zoom_selection",
        "Zoom to Selection",
        "view",
        lambda d, e: e.zoom_to_selection(),
        ("Shift+F",),
        section="fit",
    ),
    Command(
        "view.ghost_notes",
        "Ghost Notes of Other Tracks",
        "view",
        toggle_ghosts,
        ("Ctrl+Shift+G",),
        "Show other tracks faintly behind the active one",
        checkable=True,
        icon="ghosts",
        section="show",
    ),
)
