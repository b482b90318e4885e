"""`Sandbox`: the local Aurous API's lifecycle — options, state, a werkzeug server thread.

The WSGI app (``app.py``) is kept apart from the server: this module binds
``(host, port)`` (port 0 = any free port, read back after binding), serves on a daemon
thread, and exposes the knobs tests use (clock, teams, keys, faults, buckets, log).
werkzeug is imported only in :meth:`Sandbox.start`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from types import TracebackType
from typing import Any

from .clock import SandboxClock
from .faults import DEFAULT_TIMES, FaultRule, Faults
from .reqlog import RecordedRequest, RequestLog
from .state import Options, SandboxState

logger = logging.getLogger("aurous_nb.sandbox")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Sandbox:
    """A local emulator of the Aurous Labs character API (API.md, §14 binding).

    Args:
        host: Interface to bind; loopback by default (anything else logs a warning).
        port: TCP port; 0 picks a free one (see :attr:`url` after :meth:`start`).
        api_key: The default team's full-scope key (generated when omitted).
        latency_ms: Extra latency added to every request.
        synth_seconds: Sandbox-clock seconds a synthesis takes (tests use 0).
        synth_failure_rate: Probability (seeded) that a synthesis ends ``failed``.
        synth_end_state: ``"reviewing"`` (then save) or ``"ready"``.
        credits: Starting credits of every team.
        url_ttl: Upload URL lifetime in seconds (15 min).
        ticket_ttl: Upload ticket lifetime in seconds (24 h).
        buckets: Overrides ``{"characters_post": (burst, per_minute), ...}``.
        clock: A :class:`SandboxClock` to share (a fresh one by default).
        seed: Seed of the synthesis-failure and fault-probability RNGs.
        **options: Any other :class:`~aurous_nb.sandbox.state.Options` field.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        latency_ms: float = 0.0,
        synth_seconds: float = 3.0,
        synth_failure_rate: float = 0.0,
        synth_end_state: str = "reviewing",
        credits: float = 1000.0,
        url_ttl: float = 900,
        ticket_ttl: float = 86400,
        buckets: dict[str, tuple[int, float]] | None = None,
        clock: SandboxClock | None = None,
        seed: int = 0,
        **options: Any,
    ) -> None:
        opts = Options(
            latency_ms=latency_ms,
            synth_seconds=synth_seconds,
            synth_failure_rate=synth_failure_rate,
            synth_end_state=synth_end_state,
            credits=credits,
            url_ttl=url_ttl,
            ticket_ttl=ticket_ttl,
            seed=seed,
        ).updated(**options)
        self.host = host
        self.port = port
        self.clock = clock or SandboxClock()
        self.state = SandboxState(opts, self.clock, api_key=api_key, buckets=buckets)
        self.faults = Faults(seed)
        self.log = RequestLog()
        self._app: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve on a daemon thread. Returns ``self``."""
        if self._server is not None:
            return self
        from werkzeug.serving import ThreadedWSGIServer

        from .app import SandboxApp
        from .handler import KeepAliveHandler

        class _Server(ThreadedWSGIServer):
            request_queue_size = 512  # 200+ simultaneous connects must not be refused

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                # Open connections, so stop() can close the kept-alive ones: their handler
                # threads would otherwise go on serving a stopped sandbox.
                self.open_lock = threading.Lock()
                self.open_connections: set[socket.socket] = set()

            def process_request(self, request: Any, client_address: Any) -> None:
                with self.open_lock:
                    self.open_connections.add(request)
                super().process_request(request, client_address)

            def shutdown_request(self, request: Any) -> None:
                with self.open_lock:
                    self.open_connections.discard(request)
                super().shutdown_request(request)

            def close_connections(self) -> None:
                with self.open_lock:
                    still_open = list(self.open_connections)
                for sock in still_open:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)  # its handler reads EOF and ends
                    except OSError:
                        pass

        if not is_loopback(self.host):
            logger.warning(
                "aurous sandbox listening on %s: reachable from other machines; "
                "it has no real security.",
                self.host,
            )
        self._app = SandboxApp(self.state, self.faults, self.log)
        self._server = _Server(self.host, self.port, self._app, handler=KeepAliveHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"aurous-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and release the port (safe to call twice)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()  # like a real server going away: in-flight requests fail
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:50123``."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        host = self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<Sandbox {where} team={self.team_id}>"

    # -- teams, keys, credits ------------------------------------------------------------

    @property
    def api_key(self) -> str:
        """The default team's full-scope key (unchanged by :meth:`reset`)."""
        return self.state.default_key

    @property
    def team_id(self) -> str:
        return self.state.default_team_id

    def add_team(self, name: str = "Other team", credits: float | None = None) -> str:
        """Create a team (for isolation tests); returns its id. Add keys with :meth:`add_key`."""
        return self.state.add_team(name, credits)

    def add_key(self, team_id: str | None = None, scope: str = "full", legacy: bool = False) -> str:
        """Mint a key (``read``/``write``/``full``) for a team (default: the default team)."""
        return self.state.add_key(team_id, scope, legacy)

    def revoke_key(self, key: str) -> None:
        """Revoke a key: it then gets ``401 revoked_api_key``."""
        self.state.revoke_key(key)

    def set_credits(self, credits: float, team_id: str | None = None) -> None:
        """Set a team's credits (e.g. to 0 to provoke 402)."""
        self.state.set_credits(credits, team_id)

    def credits(self, team_id: str | None = None) -> float:
        with self.state.lock:
            return self.state.teams[team_id or self.team_id].credits

    # -- time, options, buckets, faults --------------------------------------------------

    def advance(self, seconds: float) -> float:
        """Move the sandbox clock forward: expire URLs/tickets, refill buckets, end synthesis."""
        return self.clock.advance(seconds)

    def configure(self, **options: Any) -> None:
        """Change options (e.g. ``synth_end_state="ready"``) until the next :meth:`reset`."""
        with self.state.lock:
            self.state.options = self.state.options.updated(**options)

    @property
    def options(self) -> Options:
        return self.state.options

    def set_bucket(self, name: str, burst: int, per_minute: float) -> None:
        """Resize a rate bucket for every team (until :meth:`reset`); it starts full."""
        with self.state.lock:
            self.state.buckets.configure(name, burst, per_minute)

    def inject(
        self,
        route: str,
        *,
        status: int | None = None,
        times: int | None = DEFAULT_TIMES,
        probability: float | None = None,
        latency_ms: float | None = None,
        drop: bool = False,
        retry_after: float | None = None,
    ) -> FaultRule:
        """Inject a fault on ``route`` (``"init"``, ``"upload"``, ... or ``"*"``).

        Args:
            status: Answer with this status (429/500/502/503/504 get their documented
                codes) instead of processing the request.
            times: How many matching requests the rule hits (``None`` = all). Defaults
                to 1, or to unlimited when ``probability`` is given.
            probability: Hit each matching request with this probability (seeded).
            latency_ms: Extra delay; alone, the request is then processed normally.
            drop: Close the connection without any response.
            retry_after: ``Retry-After`` seconds on the injected response (429 default 1).
        """
        return self.faults.add(
            route,
            status=status,
            times=times,
            probability=probability,
            latency_ms=latency_ms,
            drop=drop,
            retry_after=retry_after,
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- log and reset -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (API, upload host, storage), oldest first."""
        return self.log.snapshot()

    def clear_log(self) -> None:
        self.log.clear()

    @property
    def handler_errors(self) -> list[str]:
        """Tracebacks of sandbox bugs hit while serving (each answered with a 500)."""
        return [] if self._app is None else list(self._app.handler_errors)

    def reset(self) -> None:
        """Forget everything (characters, tickets, extra teams/keys, faults, log, bucket
        changes, clock offset, credits, :meth:`configure` changes). The default team id
        and :attr:`api_key` stay the same."""
        self.state.reset()
        self.faults.clear()
        self.log.clear()
        if self._app is not None:
            self._app.handler_errors.clear()
