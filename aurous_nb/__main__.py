"""``python -m aurous_nb demo``: create a character from the bundled samples on the sandbox.

Starts the in-process sandbox (no key, no network), runs a ``CharacterFlow`` over the four
bundled sample images with a live text rendering, and prints a summary.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from ._text import one_line, plural
from ._version import __version__
from .flow import CharacterFlow, FlowEvent

_ROUTES = (("init", "init"), ("upload", "PUT"), ("classify", "classify"), ("create", "create"))


class _Progress:
    """Subscriber that renders a flow to a terminal: redrawn in place on a TTY, else a log."""

    def __init__(self, flow: CharacterFlow, out: TextIO, live: bool) -> None:
        self.flow = flow
        self.out = out
        self.live = live
        self.t0 = time.perf_counter()
        self.marks: dict[str, float] = {}
        self._lock = threading.Lock()
        self._lines = 0
        self._drawn = 0.0
        self._last: dict[int, str] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def __call__(self, event: FlowEvent) -> None:
        with self._lock:
            t = self.elapsed()
            self.marks.setdefault(f"first {event.state}", t)
            self.marks[f"last {event.state}"] = t
            if self.live:
                if event.state != "uploading" or t - self._drawn >= 0.08:
                    self.redraw()
                return
            ref = event.ref
            if event.kind == "ref" and ref is not None:
                if self._last.get(id(ref)) == event.state:
                    return  # progress of the same state: not worth a line in a log
                self._last[id(ref)] = event.state
                what = f"{ref.name}: {event.state}"
            elif event.kind == "flow":
                what = f"flow: {event.state}"
            else:
                what = f"character: {event.state}"
            note = f" — {event.message}" if event.message else ""
            print(f"  [{t:5.2f}s] {what}{note}", file=self.out, flush=True)

    def redraw(self) -> None:
        from .display import flow_text

        text = flow_text(self.flow)
        if self._lines:
            self.out.write(f"\x1b[{self._lines}F\x1b[J")  # back to the top of the last frame
        self.out.write(text + "\n")
        self.out.flush()
        self._lines = text.count("\n") + 1
        self._drawn = self.elapsed()


def demo(latency_ms: float = 0.0, name: str = "Demo character", out: TextIO | None = None) -> int:
    """Run the demo; returns the process exit code."""
    import requests

    from .client import AurousClient
    from .display import flow_text
    from .samples import paths
    from .sandbox import Sandbox

    out = out or sys.stdout
    live = out.isatty()
    with Sandbox(latency_ms=latency_ms, synth_seconds=0.0) as sandbox:
        sandbox.start()
        print(
            f"aurous_nb {__version__} demo: in-process sandbox at {sandbox.url} "
            f"(no key, no network{f', {latency_ms:g} ms latency' if latency_ms else ''})\n",
            file=out,
        )
        session = requests.Session()
        session.trust_env = False  # loopback: no proxy from the environment, no netrc
        with (
            session,
            AurousClient(api_key=sandbox.api_key, base_url=sandbox.url, session=session) as client,
        ):
            # journal=False: the demo's sandbox and team live only as long as the demo
            flow = CharacterFlow(client, name, paths(), journal=False)
            progress = _Progress(flow, out, live)
            flow.subscribe(progress)
            if live:
                progress.redraw()
            try:
                character = flow.run_sync()
            except KeyboardInterrupt:
                print("\ninterrupted: the flow was cancelled", file=out)
                return 130
            total = progress.elapsed()
            if live:
                progress.redraw()
            else:
                print("\n" + flow_text(flow), file=out)
            counts = Counter(r.route for r in sandbox.requests if r.route)

    width = max(len(r.name) for r in flow.refs)
    print(f"\nCreated {character.id}", file=out)
    print(f"  name     {character.name}", file=out)
    print(f"  status   {character.status}", file=out)
    for i, ref in enumerate(flow.refs):
        pose = character.refs[i].pose if i < len(character.refs) else "?"
        conf = f"{ref.confidence:.0%}" if ref.confidence is not None else "n/a"
        label = "refs" if i == 0 else ""
        print(f"  {label:<8} {i + 1}. {pose:<9} {ref.name:<{width}}  confidence {conf}", file=out)
    m = progress.marks
    stages = [
        ("uploaded", m.get("last uploaded")),
        ("classified", m.get("last classified")),
        ("created", m.get("first consumed")),
    ]
    timeline = ", ".join(f"{label} by {t * 1000:.0f} ms" for label, t in stages if t is not None)
    spent = ", ".join(f"{counts[route]} {label}" for route, label in _ROUTES)
    print(f"  timing   {total:.2f} s for {len(flow.refs)} refs in parallel ({timeline})", file=out)
    print(f"  requests {sum(counts.values())}: {spent}", file=out)
    print(_next_steps(), file=out)
    return 0


def _next_steps() -> str:
    """What to try after the demo, with what an installed package has (no repository)."""
    lines = [
        "",
        "Next, in JupyterLab or Jupyter Notebook (pip install jupyterlab):",
        "  %load_ext aurous_nb",
        "  %aurous_key --sandbox            # or %aurous_key with your team's key",
        '  %aurous_character "Name"         # the upload widget: drop 1-6 photos',
        "From Python: help(aurous_nb.AurousClient); a sandbox of your own: aurous-sandbox",
    ]
    home = _homepage()
    if home:
        lines.append(f"Demo notebooks and docs: {home}")
    return "\n".join(lines)


def _homepage() -> str | None:
    """The project's homepage from the installed metadata (pyproject's [project.urls])."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("aurous_nb").get_all("Project-URL") or []
    except PackageNotFoundError:  # run from a checkout that was never installed
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "homepage":
            return url.strip()
    return None


def journal(*, clear: bool = False, out: TextIO | None = None) -> int:
    """``python -m aurous_nb journal [--clear]``; returns the exit code."""
    from .flow import ENV_JOURNAL, Journal

    out = out or sys.stdout
    book = Journal.default()
    if book.path is None:
        print(f"the journal is switched off (${ENV_JOURNAL}=off)", file=out)
        return 0
    if clear:
        print(f"{book.path}: {plural(book.clear(), 'entry', 'entries')} deleted", file=out)
        return 0 if book.warning is None else 1
    rows = book.summary()
    print(f"{book.path}: {plural(book.live_tickets(), 'live ticket')}", file=out)
    for host, name, created, refs, character in rows:
        made = character or "not known to have finished"
        print(
            f"  {created}  {one_line(name)!r} ({plural(refs, 'ref')}) at {host}: {made}", file=out
        )
    if book.warning:
        print(book.warning, file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aurous_nb``."""
    parser = argparse.ArgumentParser(
        prog="python -m aurous_nb",
        description="aurous_nb: the Aurous Labs character API in Jupyter and IPython.",
    )
    parser.add_argument("--version", action="version", version=f"aurous_nb {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command")
    demo_parser = commands.add_parser(
        "demo",
        help="create a character from bundled sample images on the in-process sandbox",
        description="Create a character from the bundled sample images on the in-process "
        "sandbox (no key, no network) and print a summary.",
    )
    demo_parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="extra latency per sandbox request"
    )
    demo_parser.add_argument("--name", default="Demo character", help="the character's name")
    journal_parser = commands.add_parser(
        "journal",
        help="list (or --clear) what earlier runs uploaded and created",
        description="The journal lets a re-run after a kernel restart reuse finished uploads "
        "and the create's Idempotency-Key instead of uploading again or making a second "
        "character. It holds no API key and no signed upload URL.",
    )
    journal_parser.add_argument("--clear", action="store_true", help="delete every entry")
    args = parser.parse_args(argv)
    if args.command == "journal":
        return journal(clear=args.clear)
    if args.command != "demo":
        parser.print_help(sys.stderr)
        return 2
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")
    try:
        return demo(args.latency_ms, args.name)
    except Exception as exc:  # one line for people; the traceback is not for them
        print(f"demo failed: {' '.join(str(exc).split()) or type(exc).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # e.g. a Windows pipe that cannot encode "—"
        reconfigure(errors="replace")
    sys.exit(main())
