"""Pianola: train a convolutional GAN on MIDI you love, generate, edit, listen, export."""

__version__ = "0.1.0"
