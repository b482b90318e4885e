"""aurous_nb: the Aurous Labs character API in Jupyter and IPython.

Three ways in, one engine: magics (``%load_ext aurous_nb``), widgets
(:class:`CharacterUploader`, :class:`SynthesisReview`, :class:`CharacterGallery`) and plain Python
(:class:`AurousClient`, :class:`CharacterFlow`). Heavy modules (Pillow,
werkzeug, ipywidgets) load lazily, on first use of the name that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    "AurousClient": "aurous_nb.client",
    "CharacterFlow": "aurous_nb.flow",
    "RefUpload": "aurous_nb.flow",
    "FlowEvent": "aurous_nb.flow",
    "Character": "aurous_nb.models",
    "Ref": "aurous_nb.models",
    "UploadTicket": "aurous_nb.models",
    "Classification": "aurous_nb.models",
    "Team": "aurous_nb.models",
    "Balance": "aurous_nb.models",
    "Page": "aurous_nb.models",
    "CharacterUploader": "aurous_nb.widgets",
    "CharacterGallery": "aurous_nb.widgets",
    "SynthesisReview": "aurous_nb.widgets",
    "Sandbox": "aurous_nb.sandbox",
    "errors": "aurous_nb.errors",
}

__all__ = [
    "AurousClient",
    "Balance",
    "Character",
    "CharacterFlow",
    "CharacterGallery",
    "CharacterUploader",
    "Classification",
    "FlowEvent",
    "Page",
    "Ref",
    "RefUpload",
    "Sandbox",
    "SynthesisReview",
    "Team",
    "UploadTicket",
    "__version__",
    "errors",
    "load_ipython_extension",
    "unload_ipython_extension",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import errors
    from .client import AurousClient
    from .flow import CharacterFlow, FlowEvent, RefUpload
    from .models import Balance, Character, Classification, Page, Ref, Team, UploadTicket
    from .sandbox import Sandbox
    from .widgets import CharacterGallery, CharacterUploader, SynthesisReview


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aurous_nb' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext aurous_nb``)."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and stop a sandbox they started (``%unload_ext aurous_nb``)."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)
