"""Jupyter widgets: :class:`CharacterUploader` (upload flow), :class:`SynthesisReview` and
:class:`CharacterGallery` (the team's characters).

The uploader's drop zone is an anywidget (``aurous_nb/widgets/static/uploader.js``); the
rest are plain ipywidgets composed in a ``VBox``.
"""

from __future__ import annotations

from .gallery import CharacterGallery
from .review import SynthesisReview
from .uploader import CharacterUploader

__all__ = ["CharacterGallery", "CharacterUploader", "SynthesisReview"]
