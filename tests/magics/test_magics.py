"""%load_ext / %unload_ext, options, help and %aurous_key in a real InteractiveShell,
against the real sandbox; including the secret rules (the key is absent from the history
database, outputs and logs after every form of %aurous_key)."""

from __future__ import annotations

import getpass
import logging
import types
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from aurous_nb.magics import AurousMagicError, AurousMagics, current_client
from aurous_nb.sandbox import Sandbox
from tests.support.shell import TestingShell, ip_fixture, magics_fixture, use_key  # noqa: F401

KEY_VAR = "AUROUS_TEST_KEY"


def outputs_of(cap: Any) -> str:
    """Everything a captured cell showed: stdout, stderr and every display's data."""
    shown = [cap.stdout, cap.stderr]
    for out in cap.outputs:
        shown.extend(str(v) for v in out.data.values())
    return "\n".join(shown)


def assert_secret_kept(ip: TestingShell, key: str, shown: str, *, typed: bool = False) -> None:
    """``key`` is in no output, and (unless the user typed it) not in history or variables."""
    assert key not in shown
    assert key[:20] not in shown  # not even a long prefix: only the 14-character mask
    if typed:
        return
    assert key not in ip.history_text()
    for name, value in ip.user_ns.items():
        if name != KEY_VAR and isinstance(value, str):
            assert key not in value, name


# ---------------------------------------------------------------- loading, options, help


def test_load_unload_reload(ip: TestingShell, magics: AurousMagics) -> None:
    assert ip.find_line_magic("aurous_key") is not None
    assert ip.find_cell_magic("aurous_character") is not None
    assert ip.find_line_magic("aurous_character") is not None
    ip.run_cell("%aurous_key --sandbox --synth-seconds 0")
    sandbox = magics.sandbox
    assert sandbox is not None and sandbox.running

    ip.run_cell("%unload_ext aurous_nb")
    assert ip.find_line_magic("aurous_key") is None
    assert ip.find_cell_magic("aurous_character") is None
    assert not sandbox.running  # unload stops the sandbox it started
    assert magics.client is None
    assert not [c for c in ip.configurables if isinstance(c, AurousMagics)]

    ip.run_cell("%load_ext aurous_nb")
    ip.run_cell("%reload_ext aurous_nb")
    assert ip.find_line_magic("aurous_key") is not None
    assert len([c for c in ip.configurables if isinstance(c, AurousMagics)]) == 1


def test_config_options(ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox) -> None:
    with capture_output() as cap:
        ip.run_cell("%config AurousMagics")
    for name in ("base_url", "version", "timeout", "deadline", "max_retries", "thumbnail_size"):
        assert f"AurousMagics.{name}" in cap.stdout
    ip.run_cell(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    ip.run_cell("%config AurousMagics.timeout = 7.5")
    ip.run_cell("%config AurousMagics.max_retries = 1")
    ip.user_ns[KEY_VAR] = aurous_sandbox.api_key
    ip.run_cell(f"%aurous_key ${KEY_VAR}")
    client = current_client(ip)
    assert client is magics.client and client is not None
    assert (client.base_url, client.timeout, client.max_retries) == (aurous_sandbox.url, 7.5, 1)
    assert client.deadline == 30.0  # 4 x the timeout unless set
    ip.run_cell("%config AurousMagics.deadline = 12.0")
    ip.run_cell(f"%aurous_key ${KEY_VAR}")
    assert current_client(ip).deadline == 12.0  # type: ignore[union-attr]


def test_config_version_is_sent_and_checked(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    ip.run_cell("%config AurousMagics.version = '2031-01-01'")
    with pytest.raises(AurousMagicError, match=r"unknown_version"):
        use_key(ip, aurous_sandbox)
    assert aurous_sandbox.requests[-1].headers["Aurous-Version"] == "2031-01-01"
    assert magics.client is None


def test_help_lists_every_option(ip: TestingShell, magics: AurousMagics) -> None:
    key_doc = ip.find_line_magic("aurous_key").__doc__
    for option in ("--env", "--sandbox", "--latency-ms", "--synth-seconds", "--base-url"):
        assert option in key_doc
    assert "--status" in key_doc and "--clear" in key_doc
    char_doc = ip.find_cell_magic("aurous_character").__doc__
    for option in ("--out", "--generate", "--no-classify", "--save", "--dry-run", "--debug"):
        assert option in char_doc
    with capture_output() as cap:
        ip.run_cell("%aurous_key?")
    assert "Set, check, show or forget" in cap.stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%aurous_key --nope", "unrecognized arguments: --nope"),
        ("%aurous_key $X --sandbox", "use one of KEY, --sandbox, not several"),
        ("%aurous_key --status --clear", "use one of --status, --clear"),
        ("%aurous_key --latency-ms 5", "--latency-ms and --synth-seconds go with --sandbox"),
        ("%aurous_key --sandbox --base-url http://x", "--base-url goes with a key"),
        ("%aurous_key --sandbox --latency-ms many", "invalid float value"),
        ("%aurous_key 'unbalanced", "check the quotes"),
    ],
)
def test_usage_errors_never_exit(
    ip: TestingShell, magics: AurousMagics, line: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        ip.run_cell(line)


# ---------------------------------------------------------------- %aurous_key: every form


def test_key_from_variable(ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox) -> None:
    key = aurous_sandbox.api_key
    ip.user_ns[KEY_VAR] = key
    with capture_output() as cap:
        ip.run_cell(f"%aurous_key ${KEY_VAR} --base-url {aurous_sandbox.url}")
    assert f"key {key[:14]}… OK — team 'Sandbox team'" in cap.stdout
    assert magics.key_source == f"${KEY_VAR}"
    assert f"%aurous_key ${KEY_VAR}" in ip.history_text()  # history keeps the unexpanded text
    assert_secret_kept(ip, key, outputs_of(cap))
    # the API was asked exactly once
    assert [r.route for r in aurous_sandbox.requests] == ["team"]


def test_key_from_expression(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    key = aurous_sandbox.api_key
    ip.user_ns["creds"] = {"aurous": key}
    with capture_output() as cap:
        ip.run_cell("%aurous_key {creds['aurous']} --base-url " + aurous_sandbox.url)
    assert magics.client is not None
    assert_secret_kept(ip, key, outputs_of(cap))


def test_key_from_environment(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = aurous_sandbox.api_key
    monkeypatch.setenv("MY_AUROUS", key)
    monkeypatch.setenv("AUROUS_API_KEY", key)
    monkeypatch.setenv("AUROUS_BASE_URL", aurous_sandbox.url)
    with capture_output() as cap:
        ip.run_cell("%aurous_key --env MY_AUROUS")
        assert magics.key_source == "$MY_AUROUS"
        ip.run_cell("%aurous_key --env")
        assert magics.key_source == "$AUROUS_API_KEY"
    assert_secret_kept(ip, key, outputs_of(cap))


def test_key_from_prompt(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = aurous_sandbox.api_key
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return key + "\n"

    # A frontend that can answer input requests (what ipykernel sets per execute request),
    # and getpass as ipykernel replaces it while a cell runs.
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)  # else it is used without a prompt
    monkeypatch.setattr(ip, "kernel", types.SimpleNamespace(_allow_stdin=True), raising=False)
    monkeypatch.setattr(getpass, "getpass", answer)
    ip.run_cell(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    with capture_output() as cap:
        ip.run_cell("%aurous_key")
    assert prompts == ["Aurous API key (input is hidden): "]
    assert magics.key_source == "the prompt"
    assert_secret_kept(ip, key, outputs_of(cap))


def _colab_with_secrets(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, secrets: dict) -> None:
    """A stand-in for Colab's ``google.colab.userdata`` (the real one exists only in Colab):
    a module that answers ``get(name)`` like it, raising SecretNotFoundError when absent."""
    import importlib
    import sys

    pkg = tmp_path / "colabsite" / "google" / "colab"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "userdata.py").write_text(
        f"SECRETS = {secrets!r}\n"
        "class SecretNotFoundError(KeyError):\n    pass\n"
        "def get(key):\n"
        "    if key not in SECRETS:\n        raise SecretNotFoundError(key)\n"
        "    return SECRETS[key]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "colabsite"))
    for name in [m for m in sys.modules if m == "google" or m.startswith("google.")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    before = set(sys.modules)
    importlib.import_module("google.colab")  # what a Colab kernel has loaded at start
    for name in set(sys.modules) - before:  # gone again after the test
        module = sys.modules.pop(name)
        monkeypatch.setitem(sys.modules, name, module)


def test_key_from_colab_secrets_after_the_environment(
    ip: TestingShell,
    magics: AurousMagics,
    aurous_sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    def must_not_prompt(prompt: str = "") -> str:
        raise AssertionError("prompted although Colab holds the key")

    key = aurous_sandbox.api_key
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)
    monkeypatch.setattr(ip, "kernel", types.SimpleNamespace(_allow_stdin=True), raising=False)
    monkeypatch.setattr(getpass, "getpass", must_not_prompt)
    _colab_with_secrets(tmp_path, monkeypatch, {"AUROUS_API_KEY": key})
    ip.run_cell(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    with capture_output() as cap:
        ip.run_cell("%aurous_key")
    assert magics.key_source == "Colab's secret AUROUS_API_KEY"
    assert "using Colab's secret AUROUS_API_KEY" in cap.stdout
    assert_secret_kept(ip, key, outputs_of(cap))

    # the environment comes first; --prompt asks even then
    other = aurous_sandbox.add_key()
    monkeypatch.setenv("AUROUS_API_KEY", other)
    ip.run_cell("%aurous_key")
    assert magics.key_source == "$AUROUS_API_KEY"
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": key)
    ip.run_cell("%aurous_key --prompt")
    assert magics.key_source == "the prompt"


def test_first_use_takes_the_colab_secret(
    ip: TestingShell,
    magics: AurousMagics,
    aurous_sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    monkeypatch.delenv("AUROUS_API_KEY", raising=False)
    monkeypatch.setenv("AUROUS_BASE_URL", aurous_sandbox.url)
    _colab_with_secrets(tmp_path, monkeypatch, {})
    with pytest.raises(AurousMagicError, match="no API key — run %aurous_key first"):
        magics.require_client()
    _colab_with_secrets(tmp_path / "again", monkeypatch, {"AUROUS_API_KEY": aurous_sandbox.api_key})
    assert magics.require_client().masked_key == aurous_sandbox.api_key[:14] + "…"
    assert magics.key_source == "Colab's secret AUROUS_API_KEY"


def test_headless_never_prompts(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_prompt(prompt: str = "") -> str:
        raise AssertionError("prompted with no stdin")

    monkeypatch.setattr(ip, "kernel", types.SimpleNamespace(_allow_stdin=False), raising=False)
    monkeypatch.setattr(getpass, "getpass", must_not_prompt)
    with pytest.raises(AurousMagicError) as info:
        ip.run_cell("%aurous_key")
    message = info.value._render_traceback_()
    assert len(message) == 1
    assert "cannot prompt" in message[0] and "AUROUS_API_KEY" in message[0]
    assert "%aurous_key $VAR" in message[0]

    # with the variable set, headless falls back to it
    monkeypatch.setenv("AUROUS_API_KEY", aurous_sandbox.api_key)
    ip.run_cell(f"%config AurousMagics.base_url = {aurous_sandbox.url!r}")
    with capture_output() as cap:
        ip.run_cell("%aurous_key")
    assert "using $AUROUS_API_KEY" in cap.stdout
    assert_secret_kept(ip, aurous_sandbox.api_key, outputs_of(cap))


def test_literal_key_warns(ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox) -> None:
    key = aurous_sandbox.add_key()  # not the default key: this one ends up in history
    with capture_output() as cap:
        ip.run_cell(f"%aurous_key {key} --base-url {aurous_sandbox.url}")
    assert "now saved in the notebook and in IPython's history" in cap.stderr
    assert magics.client is not None
    # the user typed it into history and In[]; still, nothing we print shows it
    assert_secret_kept(ip, key, outputs_of(cap), typed=True)


def test_sandbox_form(ip: TestingShell, magics: AurousMagics) -> None:
    with capture_output() as cap:
        ip.run_cell("%aurous_key --sandbox --latency-ms 1 --synth-seconds 0")
    sandbox = magics.sandbox
    assert sandbox is not None and sandbox.options.latency_ms == 1
    assert sandbox.options.synth_seconds == 0
    assert f"sandbox running at {sandbox.url}" in cap.stdout
    assert_secret_kept(ip, sandbox.api_key, outputs_of(cap))
    with capture_output() as cap:
        ip.run_cell("%aurous_key --clear")
    assert cap.stdout.strip() == "key forgotten; sandbox stopped"
    assert not sandbox.running and magics.client is None


def test_key_never_logged(
    ip: TestingShell,
    magics: AurousMagics,
    aurous_sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    aurous_sandbox.inject("team", status=503)  # a retry is logged with its reason
    magics.max_retries = 1
    use_key(ip, aurous_sandbox)
    assert caplog.records
    assert aurous_sandbox.api_key not in caplog.text


# ---------------------------------------------------------------- %aurous_key: what's wrong


def test_missing_environment_variable(ip: TestingShell, magics: AurousMagics) -> None:
    with pytest.raises(AurousMagicError, match="environment variable NOPE_KEY is not set"):
        ip.run_cell("%aurous_key --env NOPE_KEY")


def test_undefined_variable(ip: TestingShell, magics: AurousMagics) -> None:
    with pytest.raises(AurousMagicError, match=r"\$NOT_DEFINED is not defined in the notebook"):
        ip.run_cell("%aurous_key $NOT_DEFINED")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("al_live_1234", "expected 64 hex digits after al_live_, got 4 hex digits"),
        ("al_live_" + "z" * 64, "expected 64 hex digits after al_live_, got characters that"),
        ("sk-" + "a" * 40, "an Aurous key starts with al_live_ (or og_"),
        ("", "it is empty"),
        ("og_x", "a legacy og_ key has at least 8"),
    ],
)
def test_malformed_key_sends_nothing(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox, value: str, problem: str
) -> None:
    ip.user_ns[KEY_VAR] = value
    with pytest.raises(AurousMagicError) as info:
        ip.run_cell(f"%aurous_key ${KEY_VAR} --base-url {aurous_sandbox.url}")
    assert f"malformed key from ${KEY_VAR}: {problem}" in str(info.value)
    assert not aurous_sandbox.requests
    if value:
        assert value not in str(info.value)


def test_invalid_and_revoked_keys(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    unknown = "al_live_" + "0" * 64
    with pytest.raises(AurousMagicError, match=r"rejected the key al_live_000000… as invalid"):
        use_key(ip, aurous_sandbox, unknown)
    revoked = aurous_sandbox.add_key()
    aurous_sandbox.revoke_key(revoked)
    with pytest.raises(AurousMagicError) as info:
        use_key(ip, aurous_sandbox, revoked)
    assert "was revoked (401 revoked_api_key)" in str(info.value)
    assert revoked not in str(info.value)
    assert magics.client is None
    # a legacy key is accepted
    use_key(ip, aurous_sandbox, aurous_sandbox.add_key(legacy=True))
    assert magics.client is not None


def test_unreachable_host(ip: TestingShell, magics: AurousMagics) -> None:
    ip.user_ns[KEY_VAR] = "al_live_" + "a" * 64
    with pytest.raises(AurousMagicError, match=r"could not reach http://127.0.0.1:9"):
        ip.run_cell(f"%aurous_key ${KEY_VAR} --base-url http://127.0.0.1:9")
    with pytest.raises(AurousMagicError, match="not an http"):
        ip.run_cell(f"%aurous_key ${KEY_VAR} --base-url ftp://example.org")


# ---------------------------------------------------------------- --status, --clear


def test_status(ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox) -> None:
    with capture_output() as cap:
        ip.run_cell("%aurous_key --status")
    assert cap.stdout.startswith("no key set")
    use_key(ip, aurous_sandbox)
    aurous_sandbox.set_credits(42.5)
    with capture_output() as cap:
        ip.run_cell("%aurous_key --status")
    lines = cap.stdout.splitlines()
    assert lines[0] == f"key:      {aurous_sandbox.api_key[:14]}…  (from ${KEY_VAR})"
    assert lines[1] == f"base URL: {aurous_sandbox.url}"
    assert lines[2] == "version:  2026-05-15"
    assert lines[3].startswith("team:     Sandbox team (team_")
    assert lines[4].startswith("credits:  42.5 available")
    assert_secret_kept(ip, aurous_sandbox.api_key, outputs_of(cap))
    aurous_sandbox.inject("balance", status=500)
    with capture_output() as cap:
        ip.run_cell("%aurous_key --status")
    assert "credits:  unavailable — 500" in cap.stdout


def test_clear_without_key(ip: TestingShell, magics: AurousMagics) -> None:
    with capture_output() as cap:
        ip.run_cell("%aurous_key --clear")
    assert cap.stdout.strip() == "no key was set"


def test_new_key_replaces_sandbox(
    ip: TestingShell, magics: AurousMagics, aurous_sandbox: Sandbox
) -> None:
    ip.run_cell("%aurous_key --sandbox --synth-seconds 0")
    started = magics.sandbox
    assert started is not None
    use_key(ip, aurous_sandbox)
    assert not started.running and magics.sandbox is None
    assert magics.client is not None and magics.client.base_url == aurous_sandbox.url


def test_errors_show_one_line_without_traceback(
    ip: TestingShell, magics: AurousMagics, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell("%aurous_key --env NOPE_KEY", check=False)
    assert isinstance(result.error_in_exec, AurousMagicError)
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert [line for line in out.splitlines() if line.strip()] == [
        "ConfigurationError: environment variable NOPE_KEY is not set — set it before "
        "starting the kernel, or run %aurous_key to be prompted"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%aurous_character --bogus", "unrecognized arguments: --bogus"),
        ('%aurous_character "Nova" --bogus', "unrecognized arguments: --bogus"),
        ("%aurous_key --nope", "unrecognized arguments: --nope"),
        ("%aurous_character", "the following arguments are required: name"),
    ],
)
def test_an_unknown_option_is_named_first(
    ip: TestingShell, magics: AurousMagics, line: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        ip.run_cell(line)
