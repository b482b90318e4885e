"""A local emulator of the Aurous Labs character API, for tests, demos and Binder.

``Sandbox().start()`` serves the API on 127.0.0.1; ``python -m aurous_nb.sandbox`` runs
it standalone; the ``aurous_sandbox`` pytest fixture gives one per test session.
Importing this package does not import werkzeug or Pillow.
"""

from __future__ import annotations

from .clock import SandboxClock
from .reqlog import RecordedRequest
from .server import Sandbox

__all__ = ["RecordedRequest", "Sandbox", "SandboxClock"]
