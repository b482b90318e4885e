"""Sample reference images bundled with aurous_nb: one drawn character in four views.

``paths()`` returns them for demos and tests; ``_draw.py`` is the script that drew them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NAMES", "paths"]

NAMES: tuple[str, ...] = ("front.png", "side.png", "back.png", "portrait.jpg")
"""The bundled files, in the order a character's refs usually go."""


def paths() -> list[Path]:
    """Return the absolute paths of the bundled sample images (front, side, back, portrait)."""
    here = Path(__file__).resolve().parent
    return [here / name for name in NAMES]
