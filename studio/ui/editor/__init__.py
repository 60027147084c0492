"""The piano-roll editor: notes painted with QPainter over a cached grid."""

from studio.ui.editor.editor import PianoRollEditor

__all__ = ["PianoRollEditor"]
