"""Row "notebook weight": the saved .ipynb after six photos went through the magic / the widget.

Two notebooks are generated and executed headless with nbclient in a real kernel (the
sandbox runs inside it, as with ``%aurous_key --sandbox``): one runs ``%%aurous_character``
over the photos, the other drives a ``CharacterUploader`` from Python (``add()`` as a drop
would, then ``create()``). Both are saved with their outputs — the widget one with its
widget state, as JupyterLab saves it — and weighed.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

from ._common import Config, Context, Row, fmt_bytes, subprocess_env

LIMIT = 250_000  # bytes, per saved notebook

SETUP = ["%load_ext aurous_nb", "%aurous_key --sandbox --synth-seconds 0"]

MAGIC = '%%aurous_character "Weight test" --out character\n{photos}'

WIDGET_SHOW = """from aurous_nb import CharacterUploader

uploader = CharacterUploader(name="Weight test")
uploader"""

WIDGET_RUN = """import time


def wait_until(condition, timeout=600.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the uploader did not finish in time"
        time.sleep(0.05)


uploader.add(*photos)
refs = uploader.flow.refs
wait_until(lambda: len(refs) == len(photos) and all(r.done or r.state == "failed" for r in refs))
uploader.create()
wait_until(lambda: uploader.status == "created" or uploader.error)
assert uploader.status == "created", uploader.error
uploader.character"""

CHECK = 'assert character.status == "ready" and len(character.refs) == len(photos)\ncharacter'


def _notebook(cells: list[str]) -> Any:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _execute(nb: Any, folder: Path, name: str) -> tuple[int, int, str]:
    """Run ``nb`` in a fresh kernel, save it; return (bytes, largest embedded image, text)."""
    import nbformat
    from nbclient import NotebookClient

    env = subprocess_env(IPYTHONDIR=str(folder / "ipython"))
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=env)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    text = path.read_text(encoding="utf-8")
    images = [
        len(base64.b64decode(chunk))
        for chunk in re.findall(
            r"(?:data:image/[a-z]+;base64,|\"image/(?:png|jpeg)\": \")"
            r"([A-Za-z0-9+/=\\n]+)",
            text,
        )
    ]
    return path.stat().st_size, max(images, default=0), text


def run(config: Config, context: Context) -> list[Row]:
    photos = context.photos(config.weight_set)
    total = sum(p.stat().st_size for p in photos)
    listing = "photos = [\n" + "".join(f"    {os.fspath(p)!r},\n" for p in photos) + "]"
    folder = context.tmp / "weight"
    folder.mkdir(exist_ok=True)
    magic = _execute(_notebook([*SETUP, listing, MAGIC, CHECK]), folder, "magic")
    widget = _execute(_notebook([*SETUP, listing, WIDGET_SHOW, WIDGET_RUN]), folder, "widget")
    for text in (magic[2], widget[2]):
        if re.search(r"al_live_[0-9a-f]{64}", text):  # a key is only ever shown masked
            raise AssertionError("an API key was saved in the notebook")
    worst = max(magic[0], widget[0])
    return [
        Row(
            name="notebook weight",
            measure=(
                f"saved .ipynb after six {fmt_bytes(total / 6)} phone photos through the magic and "
                "through the widget (nbclient) / sum of the photos"
            ),
            value=(
                f"magic {fmt_bytes(magic[0])} ({magic[0] / total:.2%}), "
                f"widget {fmt_bytes(widget[0])} ({widget[0] / total:.2%})"
            ),
            target=f"≤ {LIMIT // 1000} KB absolute",
            ok=worst <= LIMIT,
            detail=(
                f"photos {fmt_bytes(total)} in all; largest embedded image: magic "
                f"{fmt_bytes(magic[1])}, widget {fmt_bytes(widget[1])}"
            ),
            notes=[
                "Each notebook runs `%load_ext aurous_nb` and `%aurous_key --sandbox` in a "
                "fresh kernel. The magic one runs `%%aurous_character` over the six paths; "
                "the widget one displays a `CharacterUploader`, calls `add(*photos)` (what a "
                "drop does once the browser has sent the files), waits for the cards, then "
                "`create()`. Saved with `store_widget_state=True`, so the widget state "
                "(card metadata, 256 px thumbnails) is in the file as JupyterLab would save it.",
            ],
        )
    ]
