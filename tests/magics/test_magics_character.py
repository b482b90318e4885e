"""%%aurous_character in a real InteractiveShell against the real sandbox: the upload flow with
its live display, resume after failure and interrupt, --generate, --dry-run, the line form."""

from __future__ import annotations

import base64
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from aurous_nb import samples
from aurous_nb.flow import CharacterFlow
from aurous_nb.magics import AurousMagicError, AurousMagics
from aurous_nb.models import Character
from aurous_nb.sandbox import Sandbox
from tests.support.sandbox import route_log
from tests.support.shell import TestingShell, ip_fixture, magics_fixture, use_key  # noqa: F401
from tests.support.waiting import wait_for

SAMPLES = "\n".join(str(p) for p in samples.paths())
MAX_OUTPUT_BYTES = 30_000


@pytest.fixture
def keyed(ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox) -> Sandbox:
    """The sandbox, with the session's key set to it (the key check is not in the log)."""
    use_key(ip, aurous_sandbox)
    aurous_sandbox.clear_log()
    return aurous_sandbox


def html_mode(ip: TestingShell) -> None:
    ip.run_cell("%config AurousMagics.display_mode = 'html'")


# ---------------------------------------------------------------- the upload flow


def test_upload_flow_one_live_display(ip: TestingShell, keyed: Sandbox) -> None:
    html_mode(ip)
    with capture_output() as cap:
        result = ip.run_cell(f'%%aurous_character "Aurora the Adventurer" --out aurora\n{SAMPLES}')
    character = result.result
    assert isinstance(character, Character) and character.status == "ready"
    assert ip.user_ns["aurora"] is character
    assert [r.pose for r in character.refs] == ["front", "side", "back", "portrait"]
    assert route_log(keyed).count("init") == 4 and route_log(keyed).count("create") == 1

    # one display id, first shown, then only updated in place
    first, *updates = cap.outputs
    display_id = first.transient["display_id"] if first.transient else None
    assert display_id and not first.update
    assert updates and all(o.update and o.transient["display_id"] == display_id for o in updates)
    final = updates[-1].data
    assert final["text/html"].count('class="aurous-ref"') == 4
    assert "data:image/" in final["text/html"]
    # the character's card is the cell's result, shown once: not also in the live output
    assert 'class="aurous-character"' not in final["text/html"]
    assert character.id in character._repr_html_()
    assert "Aurora the Adventurer" in final["text/plain"]
    for out in cap.outputs:  # thumbnails only: no output carries a full image
        assert all(n < MAX_OUTPUT_BYTES for n in _png_sizes(out.data["text/html"]))
    assert len(character._repr_html_()) < MAX_OUTPUT_BYTES


def test_live_display_is_throttled(ip: TestingShell, keyed: Sandbox) -> None:
    html_mode(ip)
    ip.run_cell("%config AurousMagics.update_interval = 0.25")
    keyed.inject("*", latency_ms=30, times=None)  # ~1 s of work, dozens of events
    started = time.monotonic()
    with capture_output() as cap:
        ip.run_cell(f'%%aurous_character "Slow"\n{SAMPLES}')
    elapsed = time.monotonic() - started
    updates = [o for o in cap.outputs if o.update]
    assert len(updates) <= elapsed / 0.25 + 2


def test_thumbnail_size_option(ip: TestingShell, keyed: Sandbox) -> None:
    html_mode(ip)
    ip.run_cell("%config AurousMagics.thumbnail_size = 48")
    with capture_output() as cap:
        ip.run_cell(f'%%aurous_character "Small"\n{SAMPLES}')
    markup = cap.outputs[-1].data["text/html"]
    assert markup.count("max-width:48px;max-height:48px") == 4  # one per ref, no <style> hack
    assert "<style" not in markup and "max-width:128px" not in markup


def test_text_rendering_in_a_terminal(
    ip: TestingShell, keyed: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # no capture_output: the plain DisplayPublisher of a terminal-like shell
    result = ip.run_cell(f'%%aurous_character "Termi"\n{SAMPLES}')
    out = capsys.readouterr().out
    assert "<div" not in out
    assert re.search(r"1\. front\.png .* in the character +front \d+%", out)
    assert f"Termi ({result.result.id}) — ready" in out
    assert out.count("checked") == 4  # each state change printed once, not every refresh


def test_body_forms_and_attributes(ip: TestingShell, keyed: Sandbox, tmp_path: Path) -> None:
    front, side, back, portrait = samples.paths()
    (tmp_path / "front view.png").write_bytes(front.read_bytes())
    ip.user_ns.update(folder=str(tmp_path), side_bytes=side.read_bytes(), more=[back, portrait])
    body = "\n".join(
        [
            "# refs of the hero",
            '"{folder}/front view.png"',
            "{side_bytes}",
            "{more}   # a list from the notebook",
            "age: 28",
            "hair_color: black",
        ]
    )
    result = ip.run_cell(f"%%aurous_character Hero of {{folder}}\n{body}")
    character = result.result
    assert character.name == f"Hero of {tmp_path}"
    assert character.attributes == {"age": 28, "hair_color": "black"}
    assert [r.pose for r in character.refs][0] == "front"


def test_url_lines_are_downloaded(ip: TestingShell, keyed: Sandbox) -> None:
    ip.run_cell(f'%%aurous_character "Source" --out src\n{SAMPLES}')
    urls = "\n".join(ref.url for ref in ip.user_ns["src"].refs[:2])
    keyed.clear_log()
    result = ip.run_cell(f'%%aurous_character "Copy"\n{urls}')
    assert len(result.result.refs) == 2
    assert route_log(keyed)[:2] == ["storage", "storage"]
    ip.run_cell("%config AurousMagics.download_max_bytes = 100")
    with pytest.raises(
        AurousMagicError, match=r"failed: 1\.\d KiB is over the 100 B download limit"
    ):
        ip.run_cell(f'%%aurous_character "Copy"\n{urls}')


def test_no_classify(ip: TestingShell, keyed: Sandbox) -> None:
    result = ip.run_cell(f'%%aurous_character "Unsorted" --no-classify\n{SAMPLES}')
    assert {r.pose for r in result.result.refs} == {"other"}
    assert "classify" not in route_log(keyed)


def test_downscale(ip: TestingShell, keyed: Sandbox, tmp_path: Path) -> None:
    from PIL import Image

    wide = tmp_path / "front_wide.png"
    Image.new("RGB", (4200, 300), "white").save(wide)
    with pytest.raises(AurousMagicError, match=r"front_wide\.png: .*4200"):
        ip.run_cell(f'%%aurous_character "Wide"\n{wide}')
    assert route_log(keyed) == []  # refused locally, nothing sent
    result = ip.run_cell(f'%%aurous_character "Wide" --downscale\n{wide}')
    assert result.result.status == "ready"


# ---------------------------------------------------------------- failures and resume


def test_local_check_failure_sends_nothing(
    ip: TestingShell, keyed: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "side.png"
    fake.write_text("not an image")
    heic = tmp_path / "back.heic"
    heic.write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
    result = ip.run_cell(f'%%aurous_character "Bad"\n{fake}\n{heic}', check=False)
    error = result.error_in_exec
    assert isinstance(error, AurousMagicError)
    assert str(error).startswith("2 of 2 refs failed local checks (nothing sent): side.png:")
    assert "back.heic: cannot be decoded as HEIC" in str(error)
    assert route_log(keyed) == []
    out = capsys.readouterr().out
    assert "Traceback" not in out and out.count("\n") <= 2


def test_failure_then_resume_without_reuploading(ip: TestingShell, keyed: Sandbox) -> None:
    keyed.inject("classify", status=500, times=1)
    with pytest.raises(AurousMagicError) as info:
        ip.run_cell(f'%%aurous_character "Phoenix" --out phoenix\n{SAMPLES}')
    message = info.value._render_traceback_()
    assert len(message) == 1 and message[0].startswith("InternalServerError: 500")
    assert message[0].endswith("re-run the cell to resume (finished uploads are kept)")
    flow = ip.user_ns["phoenix"]
    assert isinstance(flow, CharacterFlow) and flow.state == "failed"
    assert sum(ref.done for ref in flow.refs) == 3
    keyed.clear_log()

    result = ip.run_cell(f'%%aurous_character "Phoenix" --out phoenix\n{SAMPLES}')
    assert result.result.status == "ready" and ip.user_ns["phoenix"] is result.result
    assert route_log(keyed) == ["classify", "create"]  # only the unfinished ref, then create


def test_a_key_refused_for_every_ref_names_each_ref_once(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    key = aurous_sandbox.add_key()
    use_key(ip, aurous_sandbox, key)
    aurous_sandbox.revoke_key(key)
    error = ip.run_cell(f'%%aurous_character "Locked"\n{SAMPLES}', check=False).error_in_exec
    assert isinstance(error, AurousMagicError)
    (shown,) = error._render_traceback_()
    assert shown.startswith(
        "FlowError: 4 of 4 refs failed: front.png, side.png, back.png, portrait.jpg: "
        "401 revoked_api_key: "
    )
    assert shown.endswith(" — check the key with %aurous_key --status")
    assert shown.count("401") == 1 and "request_id" not in shown and "\n" not in shown


def test_resume_from_the_out_variable(
    ip: TestingShell, keyed: Sandbox, magics: AurousMagics
) -> None:
    keyed.inject("create", status=500, times=1)
    with pytest.raises(AurousMagicError, match="500"):
        ip.run_cell(f'%%aurous_character "Orion" --out orion\n{SAMPLES}')
    magics.flows.clear()  # as after %reload_ext: only the variable remembers the flow
    keyed.clear_log()
    result = ip.run_cell(f'%%aurous_character "Orion" --out orion\n{SAMPLES}')
    assert result.result.status == "ready"
    assert route_log(keyed) == ["create"]


def test_interrupt_then_resume(ip: TestingShell, keyed: Sandbox) -> None:
    keyed.inject("classify", latency_ms=300, times=None)

    def interrupt_after_first_upload() -> None:
        wait_for(lambda: "upload" in route_log(keyed), 10, "the first upload")
        signal.pthread_kill(main, signal.SIGINT)  # what a kernel interrupt delivers

    main = threading.main_thread().ident
    assert main is not None
    threading.Thread(target=interrupt_after_first_upload, daemon=True).start()
    with pytest.raises(AurousMagicError) as info:
        ip.run_cell(f'%%aurous_character "Vega" --out vega\n{SAMPLES}')
    assert info.value._render_traceback_() == [
        "KeyboardInterrupt: interrupted — re-run the cell to resume (finished uploads are kept)"
    ]
    flow = ip.user_ns["vega"]
    assert isinstance(flow, CharacterFlow) and flow.character is None
    keyed.clear_faults()
    uploaded_before = route_log(keyed).count("upload")
    keyed.clear_log()
    result = ip.run_cell(f'%%aurous_character "Vega" --out vega\n{SAMPLES}')
    assert result.result.status == "ready"
    assert route_log(keyed).count("upload") <= 4 - min(uploaded_before, 4) + 1  # in-flight one
    assert route_log(keyed).count("create") == 1


def test_debug_shows_the_original_error(ip: TestingShell, keyed: Sandbox) -> None:
    keyed.inject("init", status=500, times=None)
    with pytest.raises(Exception) as info:
        ip.run_cell(f'%%aurous_character "Dbg" --debug\n{SAMPLES}')
    assert not isinstance(info.value, AurousMagicError)
    assert type(info.value).__name__ in ("InternalServerError", "FlowError")


def test_missing_scope_says_what_to_do(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    use_key(ip, aurous_sandbox, aurous_sandbox.add_key(scope="read"))  # reads work: accepted
    with pytest.raises(AurousMagicError, match="needs a key with write or full scope"):
        ip.run_cell(f'%%aurous_character "Nope"\n{SAMPLES}')


def test_no_key_set(ip: TestingShell, magics: AurousMagics) -> None:
    with pytest.raises(AurousMagicError, match=r"no API key — run %aurous_key first"):
        ip.run_cell(f'%%aurous_character "Nobody"\n{SAMPLES}')


def test_key_from_environment_on_first_use(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUROUS_API_KEY", aurous_sandbox.api_key)
    monkeypatch.setenv("AUROUS_BASE_URL", aurous_sandbox.url)
    result = ip.run_cell(f'%%aurous_character "Envy"\n{SAMPLES}')
    assert result.result.status == "ready"
    assert magics.key_source == "$AUROUS_API_KEY"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%aurous_character\nfront.png", "the following arguments are required: name"),
        ('%%aurous_character "X" --out 1x\nfront.png', "not a valid Python variable name"),
        ('%%aurous_character "X" --out class\nfront.png', "not a valid Python variable name"),
        ('%%aurous_character "X" --save\nfront.png', "--save goes with --generate"),
        ('%%aurous_character "X"\n# nothing\n', "the cell names no images"),
        ('%%aurous_character "X"\nage: 3', "add --generate to synthesize from them"),
        ('%%aurous_character "X" --generate\n{p}', "line 1 names an image"),
        ('%%aurous_character "X" --generate\n# none', "--generate needs attributes"),
        ('%%aurous_character "X" --generate --no-classify\nage: 3', "are for images"),
        ('%aurous_character "X" --dry-run', "--dry-run needs a cell body"),
        ("%%aurous_character " + "n" * 101 + "\nfront.png", "the name has 101 characters"),
        ('%%aurous_character "X"\n' + "\n".join(["{p}"] * 7), "7 reference images"),
    ],
)
def test_usage_errors(ip: TestingShell, magics: AurousMagics, cell: str, message: str) -> None:
    ip.user_ns["p"] = str(samples.paths()[0])
    with pytest.raises(UsageError, match=re.escape(message)):
        ip.run_cell(cell)


def test_body_errors_name_the_line(ip: TestingShell, magics: AurousMagics) -> None:
    with pytest.raises(AurousMagicError, match=r"CellBodyError|line 2: no such file: 'nope.png'"):
        ip.run_cell('%%aurous_character "X"\n# refs\nnope.png')


# ---------------------------------------------------------------- --dry-run


def test_dry_run_sends_nothing(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    html_mode(ip)  # no key set at all: a dry run needs none
    with capture_output() as cap:
        result = ip.run_cell(f'%%aurous_character "Plan" --dry-run\n{SAMPLES}\nage: 28')
    assert result.result is None
    assert aurous_sandbox.requests == []
    (out,) = cap.outputs
    html, text = out.data["text/html"], out.data["text/plain"]
    assert "would send 4 init, 4 PUT" in text and "nothing was sent" in text
    assert re.search(r"1\. front\.png  png  [\d.]+ KiB  \d+×\d+  pose by name: front", text)
    assert "pose by name: portrait" in text and "attributes: age=28" in text
    assert html.count("<tr") == 5 and "data:image/" in html


def test_dry_run_shows_problems(ip: TestingShell, magics: AurousMagics, tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("text")
    with capture_output() as cap, pytest.raises(AurousMagicError, match="fake.png"):
        ip.run_cell(f'%%aurous_character "Plan" --dry-run\n{samples.paths()[0]}\n{fake}')
    plan = cap.outputs[0].data["text/plain"]
    assert "✗ fake.png: a text file, not an image" in plan
    assert "no file named like" not in plan  # front.png is there


def test_dry_run_text_escapes_control_characters(
    ip: TestingShell, magics: AurousMagics, tmp_path: Path
) -> None:
    odd = tmp_path / "odd\x1b[2J\x07.png"
    odd.write_bytes(samples.paths()[1].read_bytes())
    ip.user_ns["odd"] = str(odd)
    with capture_output() as cap:
        ip.run_cell('%%aurous_character "Plan" --dry-run\n{odd}')
    plan = cap.outputs[0].data["text/plain"]
    assert "1. odd\\x1b[2J\\x07.png  png" in plan and "\x1b" not in plan and "\x07" not in plan


# ---------------------------------------------------------------- --generate


def test_generate_and_save(ip: TestingShell, keyed: Sandbox) -> None:
    result = ip.run_cell('%%aurous_character "Nova" --generate --save --out nova\nage: 30')
    character = result.result
    assert character.status == "ready" and ip.user_ns["nova"] is character
    assert sorted(r.pose for r in character.refs) == ["back", "front", "portrait", "side"]
    assert route_log(keyed).count("create") == 1 and "save" in route_log(keyed)


def test_generate_review_then_save_on_rerun(ip: TestingShell, keyed: Sandbox) -> None:
    html_mode(ip)
    with capture_output() as cap:
        first = ip.run_cell('%%aurous_character "Lyra" --generate\ngender: female').result
    assert first.status == "reviewing"
    assert "re-run this cell with --save" in cap.outputs[-1].data["text/plain"]
    second = ip.run_cell('%%aurous_character "Lyra" --generate --save\ngender: female').result
    assert second.id == first.id and second.status == "ready"
    assert route_log(keyed).count("create") == 1  # nothing synthesized twice


def test_generate_shows_status_while_synthesizing(ip: TestingShell, keyed: Sandbox) -> None:
    html_mode(ip)
    keyed.configure(synth_seconds=1.2, synth_end_state="ready")
    with capture_output() as cap:
        character = ip.run_cell('%%aurous_character "Slowpoke" --generate\nage: 9').result
    assert character.status == "ready"
    shown = [o.data["text/html"] for o in cap.outputs]
    assert "synthesizing" in shown[0] and "synthesizing…" in " ".join(shown)
    assert all(o.update for o in cap.outputs[1:])


def test_generate_interrupt_then_resume(ip: TestingShell, keyed: Sandbox) -> None:
    keyed.configure(synth_seconds=3600)

    def interrupt_after_first_poll() -> None:
        wait_for(lambda: "get" in route_log(keyed), 10, "the first poll")
        signal.pthread_kill(main, signal.SIGINT)

    main = threading.main_thread().ident
    assert main is not None
    threading.Thread(target=interrupt_after_first_poll, daemon=True).start()
    with pytest.raises(AurousMagicError, match="interrupted — re-run the cell to resume"):
        ip.run_cell('%%aurous_character "Sirius" --generate --out sirius\nage: 7')
    pending = ip.user_ns["sirius"]
    assert isinstance(pending, Character) and pending.status == "synthesizing"
    keyed.advance(3600)  # the sandbox clock: synthesis is over
    result = ip.run_cell('%%aurous_character "Sirius" --generate --save --out sirius\nage: 7')
    assert result.result.id == pending.id and result.result.status == "ready"
    assert route_log(keyed).count("create") == 1


def test_generate_failure(ip: TestingShell, keyed: Sandbox) -> None:
    keyed.configure(synth_failure_rate=1.0)
    with pytest.raises(AurousMagicError) as info:
        ip.run_cell('%%aurous_character "Doomed" --generate --out doomed\nage: 40')
    assert info.value.title == "SynthesisFailed"
    assert "synthesis_failed" in str(info.value)
    assert ip.user_ns["doomed"].status == "failed"


def test_generate_dry_run(ip: TestingShell, keyed: Sandbox) -> None:
    with capture_output() as cap:
        ip.run_cell('%%aurous_character "Ghost" --generate --dry-run --save\nage: 3')
    assert "would send 1 create (generate: true; 4 generations)" in cap.stdout
    assert route_log(keyed) == []


def test_insufficient_credits(ip: TestingShell, keyed: Sandbox) -> None:
    keyed.set_credits(1)
    with pytest.raises(AurousMagicError, match="402"):
        ip.run_cell('%%aurous_character "Broke" --generate\nage: 3')


# ---------------------------------------------------------------- line form: the widget


def test_line_form_shows_the_uploader(
    ip: TestingShell, keyed: Sandbox, magics: AurousMagics
) -> None:
    from aurous_nb.widgets import CharacterUploader

    html_mode(ip)  # a notebook front end; a terminal gets a hint instead (test_magics_terminal)
    result = ip.run_cell('%aurous_character "Drop Here" --out up')
    widget = result.result
    assert isinstance(widget, CharacterUploader) and ip.user_ns["up"] is widget
    assert widget._client is magics.client
    widget.close()


def _png_sizes(html: str) -> list[int]:
    return [len(base64.b64decode(m)) for m in re.findall(r"base64,([A-Za-z0-9+/=]+)", html)]


def test_outputs_hold_thumbnails_not_images(
    ip: TestingShell, keyed: Sandbox, tmp_path: Path
) -> None:
    from PIL import Image

    big = tmp_path / "front_big.png"
    noise = Image.effect_noise((2000, 2000), 64).convert("RGB")
    noise.save(big)
    assert big.stat().st_size > 1_000_000
    html_mode(ip)
    with capture_output() as cap:
        ip.run_cell(f'%%aurous_character "Heavy"\n{big}')
    for out in cap.outputs:
        assert all(n < MAX_OUTPUT_BYTES for n in _png_sizes(out.data["text/html"]))
        assert len(out.data["text/html"]) < 2 * MAX_OUTPUT_BYTES
