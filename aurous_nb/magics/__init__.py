"""IPython magics: ``%aurous_key`` and ``%aurous_character`` / ``%%aurous_character``."""

from __future__ import annotations

from ._common import AurousMagicError
from ._magics import AurousMagics, current_client, load_ipython_extension, unload_ipython_extension

__all__ = [
    "AurousMagicError",
    "AurousMagics",
    "current_client",
    "load_ipython_extension",
    "unload_ipython_extension",
]
