"""The browser modules joined into one ES module (aurous_nb/widgets/_esm.py) load and render."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from aurous_nb.widgets._dropzone import DropZone
from aurous_nb.widgets._esm import STATIC, bundle, module_graph
from aurous_nb.widgets._record import LiveLink

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs it)")


def test_entry_modules_and_what_they_import() -> None:
    assert module_graph("uploader.js") == [
        "announce.js",
        "format.js",
        "cards.js",
        "connection.js",
        "dropzone.js",
        "transfers.js",
        "uploader.js",
    ]
    assert module_graph("live.js") == ["format.js", "cards.js", "connection.js", "live.js"]
    # every module in static/ is used by one of the widgets (model.js holds only types)
    used = set(module_graph("uploader.js")) | set(module_graph("live.js")) | {"model.js"}
    assert used == {p.name for p in STATIC.glob("*.js")}


def test_the_widgets_carry_the_joined_modules() -> None:
    assert DropZone._esm == bundle("uploader.js")
    assert LiveLink._esm == bundle("live.js")
    assert 'from "./' not in bundle("uploader.js")


@needs_node
@pytest.mark.parametrize("entry", ["uploader.js", "live.js"])
def test_the_joined_module_loads_and_exports_render(entry: str, tmp_path: Path) -> None:
    path = tmp_path / "bundle.mjs"
    path.write_text(bundle(entry), "utf-8")
    script = f"import({json.dumps(path.as_uri())}).then(m => console.log(typeof m.default.render))"
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "function"


@needs_node
def test_the_joined_module_formats_as_python_does(tmp_path: Path) -> None:
    """The formatters inside the bundle (not just the source files) match the shared table."""
    from aurous_nb._text import format_duration, format_size

    # the formatters as the joined module holds them (uploader.js reaches them via cards.js)
    source = bundle("uploader.js") + "\nexport const probe = __aurous_format;\n"
    path = tmp_path / "probe.mjs"
    path.write_text(source, "utf-8")
    sizes = [0, 1023, 1280, 12345, 4_100_000, 7_812_500_000]
    seconds = [-5, 59, 872, 86399]
    calls = f"[{sizes}.map(probe.formatSize), {seconds}.map(probe.formatDuration)]"
    script = (
        f"import({json.dumps(path.as_uri())})"
        f".then(({{probe}}) => console.log(JSON.stringify({calls})))"
    )
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        [format_size(n) for n in sizes],
        [format_duration(s) for s in seconds],
    ]


def test_unsupported_module_syntax_is_refused(tmp_path: Path) -> None:
    def write(name: str, text: str) -> None:
        (tmp_path / name).write_text(text, "utf-8")

    write("entry.js", 'import { a } from "./dep.js";\nexport default { a };\n')
    write("dep.js", "export default 1;\n")
    with pytest.raises(ValueError, match="dep.js: export default is only allowed"):
        bundle.__wrapped__("entry.js", tmp_path)
    write("dep.js", 'import x from "./other.js";\nexport const a = x;\n')
    with pytest.raises(ValueError, match="dep.js: unsupported import"):
        bundle.__wrapped__("entry.js", tmp_path)
    write("dep.js", 'import { b } from "./entry.js";\nexport const a = 1;\n')
    with pytest.raises(ValueError, match="import cycle"):
        bundle.__wrapped__("entry.js", tmp_path)
    write("dep.js", "export * from './x.js';\n")
    with pytest.raises(ValueError, match="dep.js: unsupported export"):
        bundle.__wrapped__("entry.js", tmp_path)
