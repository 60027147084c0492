"""The models that ship with Pianola (``models/*.pt``), by the names composers use.

``default`` is ``bach-lines.pt``, the model closest to Bach that learnt every metre of
the chorales (models/bach-default.md, *The default model*); every other file goes by its
stem (``bach-phrases``), so ``pianola generate --model bach-phrases`` and the Generation
panel's model list reach it without a path. The default file answers to its stem too.
No torch here: the panel lists the models before anything is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.paths import models_dir

DEFAULT_NAME = "default"
DEFAULT_MODEL_FILE = "bach-lines.pt"

# What the panel shows for the files we ship; a file not listed shows its stem.
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "bach-default.pt": (
        "Bach chorales, full width",
        "The full-width GAN trained from scratch on Bach's chorales in 4/4 (the default\n"
        "until it was overtaken by its distilled students), read with two refinement rounds.",
    ),
    "bach-phrases.pt": (
        "Bach, phrase ends",
        "The Bach chorale model fine-tuned on Bach's fermatas: it holds a cadence where\n"
        "the Phrases control asks for one (models/bach-default.md, Phrase-end experiment).",
    ),
    "bach-small.pt": (
        "Bach chorales, fast",
        "The Bach chorale model distilled into a network of half its width and read with\n"
        "one refinement round: 2.6-2.9x as fast to generate, meets the same quality checks\n"
        "(models/bach-default.md, One round for the student).",
    ),
    "bach-lines.pt": (
        "Bach chorales",
        "Four-part chorales (soprano, alto, tenor, bass), learnt from Bach's chorales in\n"
        "4/4, 3/4 and 3/2. Each voice is redrawn beat by beat hearing its own notes around\n"
        "it, and on each beat holds or moves as the network's own odds say; off the beat it\n"
        "never strikes its own pitch again, as Bach's lower voices never do. Closest to Bach\n"
        "of the bundled models (models/bach-default.md, By beats, What holds the inner\n"
        "voices, Off-beat repeats).",
    ),
}


@dataclass(frozen=True)
class BundledModel:
    name: str  # what --model takes
    label: str  # what the Generation panel shows
    description: str
    path: Path


def bundled_models_dir() -> Path:
    return Path(models_dir())


def bundled_models(folder: Path | None = None) -> list[BundledModel]:
    """Every bundled checkpoint, the default first, then by name."""
    folder = bundled_models_dir() if folder is None else folder
    files = sorted(folder.glob("*.pt")) if folder.is_dir() else []
    files.sort(key=lambda p: p.name != DEFAULT_MODEL_FILE)  # stable: the rest stay sorted
    out = []
    for path in files:
        name = DEFAULT_NAME if path.name == DEFAULT_MODEL_FILE else path.stem
        label, description = DESCRIPTIONS.get(path.name, (path.stem, f"Bundled model {path.name}"))
        out.append(BundledModel(name, label, description, path))
    return out


def bundled_model(name: str, folder: Path | None = None) -> BundledModel | None:
    """The bundled model called ``name`` (``default`` or a file's stem), if there is one."""
    return next((m for m in bundled_models(folder) if name in (m.name, m.path.stem)), None)
