"""Helpers for the browser tests: a throwaway Jupyter server, Chromium, driving a notebook.

The server (JupyterLab, Notebook 7 or Voilà) is started on 127.0.0.1 with ``--port=0``
(the OS picks the port; it is read back from the server's runtime file), a
random token and private config/runtime/settings directories, so nothing from
the developer's own Jupyter setup leaks in. ``stop()`` shuts it down through
the REST API, then by signal, and kills kernels it leaves behind.

``run_cell``, ``save_notebook`` and ``text_contrast`` drive and measure a page the same way in
every browser test (and in ``benchmarks/browser_transfer.py``).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# JupyterLab asks about news and update checks in a toast on first start, and may ask
# which kernel to start when the kernel specs load late; answer both up front.
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
    },
}


@dataclass
class JupyterServer:
    """A running ``jupyter lab`` / ``jupyter notebook`` process."""

    kind: str
    proc: subprocess.Popen[bytes]
    base_url: str
    token: str
    root: Path
    log_path: Path
    children: list[int] = field(default_factory=list)

    def url(self, path: str) -> str:
        """``path`` (e.g. ``"lab/tree/x.ipynb"``) on this server, with the token."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path.lstrip('/')}{sep}token={self.token}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 15.0) -> None:
        """Shut down: REST shutdown, then SIGTERM/SIGKILL to its process group, then orphans."""
        kids = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            try:
                request = urllib.request.Request(self.url("api/shutdown"), method="POST", data=b"")
                urllib.request.urlopen(request, timeout=5).close()
            except (OSError, urllib.error.URLError):
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    _signal_group(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)
        # kernels run in sessions of their own; make sure none outlives the test
        for pid in kids:
            _kill_pid(pid)


THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
"""The themes the look tests run in (JupyterLab's names; Notebook 7 and Voilà use them too)."""


def start_jupyter(
    kind: str,
    root: Path,
    state: Path,
    timeout: float = 90.0,
    *,
    theme: str = "light",
    save_widget_state: bool = False,
) -> JupyterServer:
    """Start ``jupyter lab`` (kind ``"lab"``), ``jupyter notebook`` (``"notebook"``) or a bare
    ``jupyter server`` with Voilà's extension (``"voila"``: ``voila/render/<notebook>`` shows a
    notebook as an app, as the ``voila`` command does).

    Args:
        kind: ``"lab"``, ``"notebook"`` or ``"voila"``.
        root: the server's root directory (notebooks go here).
        state: a private directory for config, runtime files, settings and the log; starting
            again with the same one is the same machine's next server (notebooks it signed are
            trusted), a new one is another machine's.
        timeout: seconds to wait for the server to answer.
        theme: ``"light"`` or ``"dark"`` (see :data:`THEMES`).
        save_widget_state: JupyterLab's "Save Jupyter widget state in notebooks" (off by default).
    """
    token = secrets.token_hex(16)
    dirs = {name: state / name for name in ("config", "data", "runtime", "settings", "ws", "ipy")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    settings = dict(_LAB_SETTINGS)
    settings["@jupyterlab/apputils-extension/themes.jupyterlab-settings"] = {"theme": THEMES[theme]}
    settings["@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings"] = {
        "saveState": save_widget_state
    }
    for rel, value in settings.items():
        path = dirs["settings"] / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["ws"]),
        IPYTHONDIR=str(dirs["ipy"]),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    module = {"lab": "jupyterlab", "notebook": "notebook", "voila": "jupyter_server"}[kind]
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
    ]
    if kind == "lab":
        cmd.append("--LabApp.extension_manager=readonly")  # never ask PyPI about extensions
    if kind == "voila":
        # Voila's server extension (enabled when voila is installed) renders notebooks at
        # /voila/render/<name>; its theme is a setting of its own
        cmd += [
            "--ServerApp.jpserver_extensions={'voila': True}",
            f"--VoilaConfiguration.theme={theme}",
        ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log_path = state / f"{kind}-server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the child process owns it
    proc = subprocess.Popen(
        cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    server = JupyterServer(kind, proc, "", token, root, log_path)
    deadline = time.monotonic() + timeout
    info_file = dirs["runtime"] / f"jpserver-{proc.pid}.json"
    try:
        while not info_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} server did not start:\n{server.log()}")
            time.sleep(0.1)
        info: dict[str, object] = {}
        while not info.get("port"):
            try:
                info = json.loads(info_file.read_text() or "{}")
            except json.JSONDecodeError:  # half-written
                time.sleep(0.05)
        server.base_url = f"http://127.0.0.1:{info['port']}{info.get('base_url') or '/'}"
        while True:
            try:
                urllib.request.urlopen(server.url("api/status"), timeout=5).close()
                break
            except (OSError, urllib.error.URLError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not answer:\n{server.log()}") from None
                time.sleep(0.2)
    except BaseException:
        server.stop()
        raise
    return server


def _descendants(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return []
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# -- driving a notebook page ---------------------------------------------------------------------


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells (no outputs) with the python3 kernelspec."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def notebook_path(kind: str, name: str) -> str:
    """The URL path of notebook ``name`` in a server of ``kind``."""
    return {"lab": "lab/tree/", "notebook": "notebooks/", "voila": "voila/render/"}[kind] + name


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium through Playwright (its own browser downloads are never used)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def accept_kernel_dialog(page: Any) -> None:
    """Answer a "Select Kernel" dialog if one is up (the default is the right kernel)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count():
        dialog.locator("button.jp-mod-accept").click()
        dialog.wait_for(state="detached", timeout=10_000)


def open_notebook(page: Any, server: JupyterServer, name: str) -> None:
    """Open notebook ``name`` and wait until its cells are there and its kernel is idle."""
    page.goto(server.url(notebook_path(server.kind, name)))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    accept_kernel_dialog(page)


def run_cell(page: Any, index: int) -> None:
    """Run one cell with Shift+Enter; press again if the front end was not ready to take it.

    A cell taken for execution shows ``[*]:`` (or its number) at once; one still showing
    ``[ ]:`` after a while was dropped (the kernel connection was still being set up).
    The prompt is looked up afresh each time: the notebook may re-render its cells.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    for _attempt in range(4):
        accept_kernel_dialog(page)
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(
                """i => {
                    const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
                    const prompt = cell && cell.querySelector('.jp-InputPrompt');
                    return !!prompt && /\\[(\\*|\\d+)\\]/.test(prompt.textContent);
                }""",
                arg=index,
                timeout=10_000,
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"cell {index} never started running")


def wait_for_cell_output(page: Any, index: int, text: str, timeout_ms: int = 30_000) -> None:
    """Wait until cell ``index`` shows an output containing ``text``."""
    page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output").filter(
        has_text=text
    ).first.wait_for(timeout=timeout_ms)


def save_notebook(page: Any) -> None:
    """Save with the keyboard; return once the server has written the file and the front end
    says the notebook is clean.

    The file is what counts: Notebook 7 marks no ``.jp-mod-dirty`` and no ``*`` in the title,
    so waiting for those alone returned before the save had begun, and a test that closed the
    page then read the notebook as it was before its cells ran.
    """
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    with page.expect_response(
        lambda r: "/api/contents/" in r.url and r.request.method == "PUT", timeout=20_000
    ) as saved:
        page.keyboard.press("Control+s")
    assert saved.value.ok, f"saving the notebook failed: HTTP {saved.value.status}"
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-dirty') && "
        "!document.title.startsWith('*') && !document.title.startsWith('●')",
        timeout=20_000,
    )


# the function in contrast.js, without its comment lines (Playwright wants a bare function)
_CONTRAST_JS = (
    "\n".join(
        line
        for line in (Path(__file__).parent / "contrast.js").read_text("utf-8").splitlines()
        if not line.startswith("//")
    )
    .strip()
    .rstrip(";")
)


def text_contrast(page: Any, selector: str, minimum: float = 4.5) -> dict[str, Any]:
    """``{"checked": n, "failures": [...], "samples": [...]}`` for the visible text under
    ``selector`` (see ``contrast.js``): each entry has the text, ratio, colours and class."""
    return dict(page.evaluate(_CONTRAST_JS, [selector, minimum]))


# -- screenshots for the README ------------------------------------------------------------------

SCREENSHOT_LIMIT = 300_000
"""Largest screenshot committed to docs/, in bytes."""


def save_screenshot(path: Path, png: bytes, limit: int = SCREENSHOT_LIMIT) -> int:
    """Write a screenshot under ``limit`` bytes (a palette PNG if it must be); returns its size."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as shot:
        image = shot.convert("RGB")
    out = io.BytesIO()
    for colors in (None, 256, 128):
        out = io.BytesIO()
        candidate = image if colors is None else image.quantize(colors, dither=Image.Dither.NONE)
        candidate.save(out, "PNG", optimize=True)
        if out.tell() <= limit:
            break
    if out.tell() > limit:
        raise AssertionError(f"{path.name}: {out.tell()} bytes even as a 128-colour PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return out.tell()
