"""The engine: :class:`CharacterFlow` turns 1–6 reference images into one character.

Imports neither IPython nor ipywidgets; the magics and the widgets subscribe to its events.
"""

from __future__ import annotations

from ._failures import RESUME_FIX, failure_error
from ._flow import CharacterFlow, FlowState
from ._journal import ENV_JOURNAL, Journal, default_path
from ._ref import FlowEvent, RefState, RefUpload

__all__ = [
    "ENV_JOURNAL",
    "RESUME_FIX",
    "CharacterFlow",
    "FlowEvent",
    "FlowState",
    "RefState",
    "Journal",
    "RefUpload",
    "default_path",
    "failure_error",
]
