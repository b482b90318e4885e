"""IPython magics: ``%aurous_key`` and ``%aurous_character`` / ``%%aurous_character``.

``%load_ext aurous_nb`` registers :class:`AurousMagics`. The magics object holds the current
client (the only place the API key lives) and the sandbox it started, nothing global.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Enum, Float, Int, Unicode

from .._session import MAGICS_NAME, current_client, loaded_magics
from ..client import DEFAULT_VERSION, key_problem
from ..errors import APIError
from ._common import AurousMagicError, parse_magic_args
from ._key import (
    DEFAULT_ENV,
    HOW_TO_SET,
    Secret,
    ambient_key,
    describe_check_failure,
    read_key,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient
    from ..sandbox import Sandbox

__all__ = [
    "AurousMagics",
    "AurousMagicError",
    "current_client",
    "load_ipython_extension",
    "unload_ipython_extension",
]


@magics_class
class AurousMagics(Magics):
    """``%aurous_key`` and ``%%aurous_character``; options via ``%config AurousMagics.<name>``."""

    base_url = Unicode(
        None,
        allow_none=True,
        help="API base URL. None: $AUROUS_BASE_URL, else https://api.aurous-labs.com. "
        "Applies to the next %aurous_key.",
    ).tag(config=True)
    version = Unicode(
        DEFAULT_VERSION,
        allow_none=True,
        help="Aurous-Version sent with every request (None: the account default). "
        "Applies to the next %aurous_key.",
    ).tag(config=True)
    timeout = Float(30.0, help="Seconds to connect, and for each read, of an HTTP request.").tag(
        config=True
    )
    deadline = Float(
        None,
        allow_none=True,
        help="Seconds one call may take in all, retries included (None: 4 x timeout). "
        "Applies to the next %aurous_key.",
    ).tag(config=True)
    max_retries = Int(4, help="Retries of a failed request (429, 5xx, dropped).").tag(config=True)
    thumbnail_size = Int(
        0,
        help="Largest size in px of the ref thumbnails in the live display; 0 keeps the "
        "display's own size (128 px). At most 256, the size thumbnails are saved at.",
    ).tag(config=True)
    update_interval = Float(
        0.1, help="Shortest time in seconds between two updates of the live display."
    ).tag(config=True)
    synth_timeout = Float(
        600.0, help="Seconds %%aurous_character --generate waits for the synthesis."
    ).tag(config=True)
    download_max_bytes = Int(
        10 * 1024 * 1024, help="Largest image downloaded from an http(s) line, in bytes."
    ).tag(config=True)
    download_timeout = Float(
        30.0,
        help="Seconds for the whole download of a URL line (connecting, redirects, every byte).",
    ).tag(config=True)
    journal = Bool(
        True,
        help="Keep finished uploads and creates in the journal (see `python -m aurous_nb "
        "journal`), so a re-run in a new kernel reuses them instead of uploading again or "
        "creating a second character. $AUROUS_NB_JOURNAL moves it or switches it off.",
    ).tag(config=True)
    display_mode = Enum(
        ("auto", "html", "text"),
        "auto",
        help="How %%aurous_character shows progress: auto (HTML under a kernel, text in a "
        "terminal), html or text.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.client: AurousClient | None = None
        """The client ``%aurous_key`` built; None until a key is set."""
        self.sandbox: Sandbox | None = None
        """The sandbox ``%aurous_key --sandbox`` started (stopped by ``--clear`` and unload)."""
        self.key_source: str | None = None
        """Where the key came from (``"prompt"``, ``"$VAR"``, ``"$AUROUS_API_KEY"``, ...)."""
        # Unfinished work, so that re-running a cell resumes instead of starting over.
        self.flows: dict[tuple[Any, ...], Any] = {}
        self.pending_characters: dict[tuple[Any, ...], str] = {}

    # ------------------------------------------------------------------ %aurous_key

    @no_var_expand
    @magic_arguments()
    @argument(
        "key",
        nargs="?",
        help="$VAR or {expr} naming a notebook variable that holds the key. Omit it to be "
        "prompted (nothing is saved). A key typed here is saved in the notebook and history.",
    )
    @argument(
        "--env",
        nargs="?",
        const=DEFAULT_ENV,
        metavar="NAME",
        help=f"read the key from environment variable NAME (default {DEFAULT_ENV})",
    )
    @argument("--base-url", metavar="URL", help="talk to this API host instead of the default")
    @argument(
        "--sandbox",
        action="store_true",
        help="start the local sandbox in this kernel and use it (no key, no network)",
    )
    @argument(
        "--latency-ms", type=float, metavar="N", help="with --sandbox: added latency per request"
    )
    @argument(
        "--synth-seconds",
        type=float,
        metavar="S",
        help="with --sandbox: seconds a synthesis takes (sandbox default 3)",
    )
    @argument(
        "--prompt",
        action="store_true",
        help=f"ask for the key even if ${DEFAULT_ENV} or a Colab secret holds one",
    )
    @argument("--status", action="store_true", help="show the key (masked), host, team, credits")
    @argument("--clear", action="store_true", help="forget the key and stop our sandbox")
    @line_magic
    def aurous_key(self, line: str) -> None:
        """Set, check, show or forget the Aurous API key for this session.

        The key is checked locally (its form), then once against the API (``GET /v1/team``);
        it is kept only inside the client object, never in a variable, option or output.

        Examples::

            %aurous_key                   # $AUROUS_API_KEY, a Colab secret, else a prompt
            %aurous_key --prompt          # a hidden prompt; nothing is saved in the notebook
            %aurous_key $MY_KEY           # a variable (history keeps "$MY_KEY")
            %aurous_key --env             # $AUROUS_API_KEY
            %aurous_key --sandbox         # local sandbox, no key needed
            %aurous_key --status
            %aurous_key --clear
        """
        args = parse_magic_args(self.aurous_key, line)
        chosen = [
            name
            for name, given in (
                ("KEY", args.key is not None),
                ("--env", args.env is not None),
                ("--prompt", args.prompt),
                ("--sandbox", args.sandbox),
                ("--status", args.status),
                ("--clear", args.clear),
            )
            if given
        ]
        if len(chosen) > 1:
            raise UsageError(f"use one of {', '.join(chosen)}, not several")
        if not args.sandbox and (args.latency_ms is not None or args.synth_seconds is not None):
            raise UsageError("--latency-ms and --synth-seconds go with --sandbox")
        if args.base_url and (args.sandbox or args.status or args.clear):
            raise UsageError("--base-url goes with a key, not with --sandbox/--status/--clear")
        if args.status:
            from ._status import print_status

            print_status(self)
        elif args.clear:
            self._clear()
        elif args.sandbox:
            self._start_sandbox(latency_ms=args.latency_ms, synth_seconds=args.synth_seconds)
        else:
            secret, source = read_key(self.shell, args.key, args.env, prompt=args.prompt)
            self._use_key(secret, source, base_url=args.base_url)

    def _new_client(self, secret: Secret, base_url: str | None) -> AurousClient:
        from ..client import AurousClient

        return AurousClient(
            api_key=secret.reveal(),
            base_url=base_url or self.base_url or None,
            version=self.version or None,
            timeout=self.timeout,
            deadline=self.deadline,
            max_retries=self.max_retries,
        )

    def _use_key(
        self, secret: Secret, source: str, *, base_url: str | None = None, quiet: bool = False
    ) -> None:
        """Check ``secret`` (form, then once against the API) and make it the session's key."""
        problem = key_problem(secret.reveal())
        if problem:
            where = "" if source in ("the prompt", "the cell") else f" from {source}"
            raise AurousMagicError(
                f"malformed key{where}: {problem} — copy the whole key from the dashboard",
                title="ConfigurationError",
            )
        try:
            client = self._new_client(secret, base_url)
        except Exception as exc:  # ConfigurationError for a bad base URL, say
            raise AurousMagicError(secret.scrub(str(exc)), title=type(exc).__name__) from None
        try:
            team = client.team()
        except APIError as exc:
            client.close()
            message = describe_check_failure(exc, secret.masked, client.base_url)
            raise AurousMagicError(secret.scrub(message), title=type(exc).__name__) from None
        self._forget(stop_sandbox=True)
        self.client, self.key_source = client, source
        if not quiet:
            print(
                f"key {client.masked_key} OK — team {team.name!r}, {team.credits:g} credits, "
                f"at {client.base_url}"
            )

    def _start_sandbox(self, *, latency_ms: float | None, synth_seconds: float | None) -> None:
        from ..sandbox import Sandbox

        options: dict[str, float] = {}
        if latency_ms is not None:
            options["latency_ms"] = latency_ms
        if synth_seconds is not None:
            options["synth_seconds"] = synth_seconds
        self._forget(stop_sandbox=True)
        sandbox = Sandbox(**options).start()  # type: ignore[arg-type]
        try:
            self._use_key(Secret(sandbox.api_key), "--sandbox", base_url=sandbox.url, quiet=True)
        except BaseException:
            sandbox.stop()
            raise
        self.sandbox = sandbox
        assert self.client is not None
        print(
            f"sandbox running at {sandbox.url} (key {self.client.masked_key}); nothing leaves "
            "this machine"
        )

    def _forget(self, *, stop_sandbox: bool) -> list[str]:
        """Drop the client (and the sandbox we started); returns what was done."""
        done = []
        if self.client is not None:
            self.client.close()
            self.client = None
            self.key_source = None
            done.append("key forgotten")
        if stop_sandbox and self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
            done.append("sandbox stopped")
        self.flows.clear()
        self.pending_characters.clear()
        return done

    def _clear(self) -> None:
        done = self._forget(stop_sandbox=True)
        print("; ".join(done) if done else "no key was set")

    def require_client(self) -> AurousClient:
        """The session's client; on first use, built from ``$AUROUS_API_KEY`` or Colab's secret.

        Raises:
            AurousMagicError: no key set and none in the environment.
        """
        if self.client is None:
            found = ambient_key()
            if found is None:
                raise AurousMagicError(
                    f"no API key — run %aurous_key first ({HOW_TO_SET})",
                    title="ConfigurationError",
                )
            self._use_key(*found, quiet=True)
        assert self.client is not None
        return self.client

    # ------------------------------------------------------------ %%aurous_character

    @magic_arguments()
    @argument("name", nargs="+", help="the character's display name (1–100 characters)")
    @argument("--out", metavar="VAR", help="also store the result in this variable")
    @argument(
        "--generate",
        action="store_true",
        help="synthesize the character from the body's `key: value` attributes",
    )
    @argument(
        "--no-classify",
        dest="classify",
        action="store_false",
        help="skip pose detection (refs are created with pose `other`)",
    )
    @argument("--save", action="store_true", help="with --generate: save it when reviewing")
    @argument(
        "--dry-run",
        action="store_true",
        help="check the refs and show the plan; no API request (URL lines are still "
        "downloaded, to check them)",
    )
    @argument(
        "--downscale",
        action="store_true",
        help="shrink refs over 4096 px or 10 MiB (upright, colours kept) instead of refusing",
    )
    @argument(
        "--keep-metadata",
        action="store_true",
        help="upload each photo's GPS position too (by default it is removed, pixels untouched)",
    )
    @argument(
        "--new",
        action="store_true",
        help="make another character even if an earlier run (the journal) made this one",
    )
    @argument("--debug", action="store_true", help="show the full traceback of a failure")
    @line_cell_magic
    def aurous_character(self, line: str, cell: str | None = None) -> Any:
        """Create a character from reference images (or synthesize one from attributes).

        The cell body has one item per line: an image path, a glob (``refs/*.png``), a
        directory, an http(s) URL, ``{var}`` (a path, bytes, PIL image or a list of them from
        the notebook), or a ``key: value`` attribute (``age: 28``); ``#`` starts a comment.
        Every ref is checked locally before any request; progress shows in one live output.
        Returns the :class:`~aurous_nb.models.Character`. If it fails, ``--out`` receives the
        unfinished flow and re-running the cell resumes it (finished uploads are kept).
        Without a body (``%aurous_character "Name"``) it shows the upload widget.

        Examples::

            %%aurous_character "Aurora" --out aurora
            ~/refs/aurora/*.png
            age: 28

            %%aurous_character "Nova" --generate --save
            gender: female
            hair_color: silver
        """
        from ._character import run_character_magic

        args = parse_magic_args(self.aurous_character, line)
        return run_character_magic(self, args, cell)


def _loaded_magics(shell: Any = None) -> AurousMagics | None:
    found = loaded_magics(shell)
    return found if isinstance(found, AurousMagics) else None


def load_ipython_extension(ipython: Any) -> None:
    """Register :class:`AurousMagics` with ``ipython`` (``%load_ext aurous_nb``)."""
    if _loaded_magics(ipython) is not None:
        unload_ipython_extension(ipython)  # a second load replaces the first cleanly
    ipython.register_magics(AurousMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics, forget the key and stop a sandbox they started."""
    manager = ipython.magics_manager
    magics = manager.registry.pop(MAGICS_NAME, None)
    if magics is None:
        return
    for kind, names in magics.magics.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
    magics._forget(stop_sandbox=True)
