"""``%%aurous_character``: a cell body to a character, with one live output.

The upload flow (``CharacterFlow`` run in the background, the live display refreshed from the
cell's own thread), the synthesis (``--generate``), the dry run and the widget (line form).
"""

from __future__ import annotations

import keyword
import threading
import time
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from .._text import error_line
from ..errors import AurousError, AuthenticationError, FlowError, MissingScopeError
from ..limits import MAX_NAME, MAX_REFS
from ..validate import check_attributes
from ._cellbody import CellBody, CellBodyError, RefSpec, parse_cell_body
from ._common import AurousMagicError
from ._key import SCOPE_FIX
from ._live import LiveView, frontend_mode

if TYPE_CHECKING:  # pragma: no cover
    from ..client import AurousClient
    from ..flow import CharacterFlow
    from ..models import Character
    from ._magics import AurousMagics

RESUME_HINT = "re-run the cell to resume (finished uploads are kept)"
KEY_FIX = "check the key with %aurous_key --status"


def run_character_magic(magics: AurousMagics, args: Any, cell: str | None) -> Any:
    """Carry out one ``%aurous_character`` / ``%%aurous_character`` call (parsed ``args``)."""
    run = _CharacterRun(magics, args, cell)
    try:
        return run.main()
    except KeyboardInterrupt:
        if args.debug:
            raise
        hint = RESUME_HINT if run.resumable else "nothing was created"
        raise AurousMagicError(f"interrupted — {hint}", title="KeyboardInterrupt") from None
    except (AurousError, CellBodyError) as exc:
        if args.debug:
            raise
        raise AurousMagicError(run.explain(exc), title=type(exc).__name__) from None


class _CharacterRun:
    """The state of one magic call; ``main()`` picks the flow."""

    def __init__(self, magics: AurousMagics, args: Any, cell: str | None) -> None:
        self.magics = magics
        self.args = args
        self.cell = cell
        self.shell: Any = magics.shell
        self.name = _name(args.name)
        self.out = _out_var(args.out)
        self.resumable = False
        """True once there is something a re-run picks up (a started flow or synthesis)."""
        self.notes: tuple[str, ...] = ()
        """What the cell body's folder and glob lines skipped, shown above the output."""
        self.live: LiveView | None = None
        """The cell's one live output (downloads, then the flow)."""

    def explain(self, exc: BaseException) -> str:
        """One line for ``exc``, with what to do (the magic's fix in place of the flow's)."""
        from ..flow import RESUME_FIX  # the flow engine loads with the first flow

        summary = exc if isinstance(exc, FlowError) and exc.errors else None
        errors = summary.errors if summary is not None else tuple(_causes(exc))
        for kind, fix in ((MissingScopeError, SCOPE_FIX), (AuthenticationError, KEY_FIX)):
            cause = next((e for e in errors if isinstance(e, kind)), None)
            if cause is not None:  # a key problem: the refs that hit it are named once
                return f"{summary.detail if summary else error_line(cause)} — {fix}"
        if summary is not None and summary.fix == RESUME_FIX:
            text = summary.detail
        else:
            text = error_line(exc)
        return f"{text} — {RESUME_HINT}" if self.resumable else text

    def store(self, value: Any) -> None:
        if self.out is not None:
            self.shell.user_ns[self.out] = value

    # ---- dispatch ------------------------------------------------------------------------------

    def main(self) -> Any:
        args = self.args
        if self.cell is None:
            for flag in ("generate", "save", "dry_run", "downscale", "keep_metadata", "new"):
                if getattr(args, flag):
                    option = "--" + flag.replace("_", "-")
                    raise UsageError(f"{option} needs a cell body (%%aurous_character)")
            return self.widget()
        if args.save and not args.generate:
            raise UsageError("--save goes with --generate (an uploaded character is ready at once)")
        if args.generate and (not args.classify or args.downscale or args.keep_metadata):
            raise UsageError(
                "--no-classify, --downscale and --keep-metadata are for images, not --generate"
            )
        body = parse_cell_body(self.cell, self.shell.user_ns)
        return self.generate(body) if args.generate else self.upload(body)

    def view(self, html_fn: Any, text_fn: Any) -> LiveView:
        mode = frontend_mode(self.shell, self.magics.display_mode)
        interval = self.magics.update_interval if mode == "html" else 0.5
        return LiveView(mode, html=html_fn, text=text_fn, interval=interval)

    # ---- the widget (line form) ----------------------------------------------------------------

    def widget(self) -> Any:
        if frontend_mode(self.shell, self.magics.display_mode) == "text":
            # a widget needs a notebook front end to draw it; a terminal would print its repr
            print(
                "the upload widget needs a notebook front end (JupyterLab, Jupyter Notebook, "
                "VS Code, Colab); here, name the images in the cell form instead:\n"
                f"  %%aurous_character {_quoted(self.name)}\n  path/to/front.jpg\n"
                "  path/to/side.jpg"
            )
            return None
        from ..widgets import CharacterUploader

        uploader = CharacterUploader(client=self.magics.require_client(), name=self.name)
        self.store(uploader)
        return uploader

    # ---- the upload flow -----------------------------------------------------------------------

    def upload(self, body: CellBody) -> Any:
        if not body.refs:
            extra = " (it has attributes: add --generate to synthesize from them)"
            raise UsageError(
                "the cell names no images — list image paths, globs or URLs, one per line"
                + (extra if body.attributes else "")
            )
        if len(body.refs) > MAX_REFS:
            raise UsageError(
                f"{len(body.refs)} reference images: a character takes 1–{MAX_REFS} — "
                f"remove {len(body.refs) - MAX_REFS}"
            )
        _refuse_duplicates(body)
        check_attributes(body.attributes)  # before any request; a kept flow keeps its tickets
        self.notes = body.notes  # what folder and glob lines skipped, shown above the output
        client = self.magics.client if self.args.dry_run else self.magics.require_client()
        # what is uploaded depends on keep_metadata: another choice is another flow
        key = (self.name, body.identity, self.args.classify, self.args.keep_metadata)
        flow = self.magics.flows.get(key) or self.flow_in_out_var(client, body)
        if flow is None:
            flow = self.new_flow(client, body)
        else:
            flow.attributes = dict(body.attributes) or None
            flow.downscale = self.args.downscale
            flow.new = self.args.new
        failed = [ref for ref in flow.check(deep=self.args.dry_run) if ref.image is None]
        if self.args.dry_run:
            return self.dry_run(flow, body, failed)
        if failed:
            raise _local_failure(failed, len(flow.refs))
        self.magics.flows[key] = flow
        self.resumable = True
        character = self.run_flow(flow)
        self.magics.flows.pop(key, None)
        self.store(character)
        return character

    def flow_in_out_var(self, client: AurousClient | None, body: CellBody) -> CharacterFlow | None:
        """An unfinished flow of the same character left in ``--out`` by a failed run."""
        from ..flow import CharacterFlow

        found = self.shell.user_ns.get(self.out) if self.out else None
        if (
            isinstance(found, CharacterFlow)
            and found.character is None
            and found.client is client
            and found.name == self.name
            and found.keep_metadata == self.args.keep_metadata
            and [r.name for r in found.refs] == [spec.name for spec in body.refs]
        ):
            return found
        return None

    def new_flow(self, client: AurousClient | None, body: CellBody) -> CharacterFlow:
        from ..flow import CharacterFlow

        sources = self.download(body.refs)
        flow = CharacterFlow(
            client,  # type: ignore[arg-type]  # None only for a dry run, which sends nothing
            self.name,
            classify=self.args.classify,
            attributes=dict(body.attributes) or None,
            downscale=self.args.downscale,
            keep_metadata=self.args.keep_metadata,
            thumbnails=True,  # the live output shows them; classify waits for the deep check
            fix_style="magic",
            journal=self.magics.journal,
            new=self.args.new,
        )
        for spec, source in zip(body.refs, sources, strict=True):
            flow.add(source, name=spec.name)
        return flow

    def download(self, specs: tuple[RefSpec, ...]) -> list[Any]:
        """The sources of the refs: URL lines downloaded (a few at once, with live progress)."""
        from ._download import Download, downloads_html, downloads_text, fetch_all

        items = [Download(spec.value, spec.name) for spec in specs if spec.kind == "url"]
        if not items:
            return [spec.value for spec in specs]
        view = self.output(lambda: downloads_html(items), lambda: downloads_text(items))
        view.show()
        try:
            bodies = iter(
                fetch_all(
                    items,
                    max_bytes=self.magics.download_max_bytes,
                    timeout=self.magics.download_timeout,
                    tick=lambda: None if view.refresh() else None,
                )
            )
        finally:
            view.refresh(force=True)
        return [next(bodies) if spec.kind == "url" else spec.value for spec in specs]

    def output(self, html_fn: Any, text_fn: Any) -> LiveView:
        """The cell's live output (made on first use), rendering with these functions."""

        def html() -> str:
            from ..display import MUTED, escape

            notes = "".join(
                f'<div style="color:{MUTED};font-size:12px">{escape(n)}</div>' for n in self.notes
            )
            return notes + html_fn()

        def text() -> str:
            from .._text import one_line

            return "\n".join([*(one_line(n) for n in self.notes), text_fn()])

        if self.live is None:
            self.live = self.view(html, text)
        else:
            self.live.render_with(html=html, text=text)
        return self.live

    def run_flow(self, flow: CharacterFlow) -> Character:
        """Run ``flow`` in the background; refresh the live output from this thread."""
        from ..display import flow_html, flow_text

        px = self.magics.thumbnail_size or None
        # the character's card is the cell's result (Out), so the live output leaves it out
        view = self.output(
            lambda: flow_html(flow, thumb_size=px, with_character=False), lambda: flow_text(flow)
        )
        changed = threading.Event()
        unsubscribe = flow.subscribe(lambda _event: changed.set())

        def tick() -> None:
            if changed.is_set():
                changed.clear()
                view.refresh()

        view.show()
        view.refresh(force=True)  # the output may have shown the downloads until now
        try:
            character = flow.run_sync(tick=tick, interval=0.05)
        except KeyboardInterrupt:
            # a create already in flight may still have made the character: hand it over
            self.store(flow.character or flow)
            view.refresh(force=True)
            raise
        except BaseException:
            self.store(flow)
            view.refresh(force=True)
            raise
        finally:
            unsubscribe()
        view.refresh(force=True)
        if view.mode == "text":
            from ..display import character_text

            print(character_text(character))
        return character

    def dry_run(self, flow: CharacterFlow, body: CellBody, failed: list[Any]) -> None:
        from ._plan import plan_html, plan_text

        refs, attrs, classify = flow.refs, body.attributes, self.args.classify
        px = self.magics.thumbnail_size or 64
        view = self.output(
            lambda: plan_html(self.name, refs, attrs, classify, thumb_px=px),
            lambda: plan_text(self.name, refs, attrs, classify),
        )
        view.show()
        view.refresh(force=True)
        if failed:
            raise _local_failure(failed, len(refs))
        return None

    # ---- the synthesis -------------------------------------------------------------------------

    def generate(self, body: CellBody) -> Any:
        from ..display import MUTED, character_html, character_text, escape

        if body.refs:
            raise UsageError(
                f"--generate synthesizes from attributes, but line {body.refs[0].lineno} names "
                "an image — remove the image lines or drop --generate"
            )
        if not body.attributes:
            raise UsageError(
                "--generate needs attributes in the cell, one per line, e.g. `gender: female` "
                "and `age: 28`"
            )
        check_attributes(body.attributes)  # what create would refuse, before any request
        if self.args.dry_run:
            from ._plan import generate_plan_text

            print(generate_plan_text(self.name, body.attributes, self.args.save))
            return None
        client = self.magics.require_client()
        key = ("generate", self.name, repr(sorted(body.attributes.items())))
        pending = self.magics.pending_characters.get(key)
        if pending is not None:
            character = client.get_character(pending)
        else:
            character = client.create_character(
                self.name, generate=True, attributes=body.attributes
            )
            self.magics.pending_characters[key] = character.id
        self.resumable = True
        current: dict[str, Any] = {"character": character, "note": ""}
        started = time.monotonic()

        def note_html() -> str:
            note = current["note"]
            return f'<div style="color:{MUTED}">{escape(note)}</div>' if note else ""

        view = self.view(
            lambda: character_html(current["character"]) + note_html(),
            lambda: "\n  ".join(
                filter(None, [character_text(current["character"]), current["note"]])
            ),
        )

        def sleep(seconds: float) -> None:
            """wait_for_character's pause, used to tick the elapsed time in the output."""
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                current["note"] = f"synthesizing… {time.monotonic() - started:.0f} s"
                view.refresh()
                time.sleep(min(left, 1.0))

        self.store(character)
        view.show()
        if not character.settled:  # synthesizing, or a status this client does not know
            character = client.wait_for_character(
                character.id, timeout=self.magics.synth_timeout, sleep=sleep
            )
            current["character"] = character
            self.store(character)
        if character.status == "failed":
            self.magics.pending_characters.pop(key, None)
            current["note"] = "synthesis failed"
            view.refresh(force=True)
            raise AurousMagicError(
                f"synthesis of {self.name!r} ({character.id}) failed: "
                f"{character.error_message or 'no reason given'} — re-run the cell to try again "
                "(4 more generations)",
                title="SynthesisFailed",
            )
        if character.status == "reviewing" and self.args.save:
            character = client.save_character(character.id)
            current["character"] = character
        if character.status == "reviewing":
            current["note"] = (
                "reviewing — look at the refs, then re-run this cell with --save (nothing is "
                "synthesized again)"
            )
        else:
            self.magics.pending_characters.pop(key, None)
            current["note"] = f"{character.status} after {time.monotonic() - started:.0f} s"
        view.refresh(force=True)
        self.store(character)
        return character


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__
    return chain


def _local_failure(failed: list[Any], total: int) -> BaseException:
    from ..flow import failure_error

    return failure_error(failed, total, "failed local checks (nothing sent)")


def _refuse_duplicates(body: CellBody) -> None:
    """The same file (or URL, or object) twice is a mistake that wastes one of the six refs."""
    seen: dict[str, RefSpec] = {}
    for spec in body.refs:
        first = seen.setdefault(spec.identity, spec)
        if first is not spec:
            where = (
                f"twice on line {spec.lineno}"
                if first.lineno == spec.lineno
                else f"on lines {first.lineno} and {spec.lineno}"
            )
            raise UsageError(f"{spec.name} is listed {where} — remove one of them")


def _name(words: list[str]) -> str:
    name = " ".join(words).strip()
    if not name:
        raise UsageError('give the character a name: %%aurous_character "Name"')
    if len(name) > MAX_NAME:
        raise UsageError(f"the name has {len(name)} characters; the API takes 1–{MAX_NAME}")
    return name


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _out_var(out: str | None) -> str | None:
    if out is not None and (not out.isidentifier() or keyword.iskeyword(out)):
        raise UsageError(f"--out {out!r} is not a valid Python variable name")
    return out
