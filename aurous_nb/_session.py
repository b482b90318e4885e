"""The session's current client: the one ``%aurous_key`` set, if the magics are loaded.

The magics object holds the client (no module keeps one); this looks it up in the running
IPython without importing IPython or the magics, so a widget shown in a notebook that never
loaded the extension pays for neither.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .client import AurousClient

__all__ = ["MAGICS_NAME", "current_client", "loaded_magics"]

MAGICS_NAME = "AurousMagics"
"""The name the magics are registered under in IPython's magics manager."""


def loaded_magics(shell: Any = None) -> Any:
    """The ``AurousMagics`` registered in ``shell`` (default: the running IPython), or None."""
    if shell is None:
        ipython = sys.modules.get("IPython")  # not imported: no IPython means no magics
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return None
    registry = getattr(getattr(shell, "magics_manager", None), "registry", {})
    return registry.get(MAGICS_NAME)


def current_client(shell: Any = None) -> AurousClient | None:
    """The client of ``%aurous_key`` in ``shell`` (default: the running IPython), or None."""
    magics = loaded_magics(shell)
    return getattr(magics, "client", None) if magics is not None else None
