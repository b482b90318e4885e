"""The engine: :class:`CharacterFlow` turns 1–6 reference images into one character.

Imports neither IPython nor ipywidgets; the magics and the widgets subscribe to its events.
"""

from __future__ import annotations

from ._flow import MAX_REFS, CharacterFlow, FlowState
from ._ref import FlowEvent, RefState, RefUpload

__all__ = ["MAX_REFS", "CharacterFlow", "FlowEvent", "FlowState", "RefState", "RefUpload"]
