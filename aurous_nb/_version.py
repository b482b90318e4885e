"""The one version string of aurous_nb (pyproject.toml reads it from here)."""

__version__ = "0.1.0.dev0"
