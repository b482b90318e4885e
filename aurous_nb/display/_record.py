"""Records: a widget's final results as plain HTML, the output a saved notebook keeps.

A widget lives only as long as its kernel; what it produced must outlast it. The widgets
write each final result (a created character with its cards, a review's outcome) into a
plain HTML output next to themselves, with a display id, and update it as results come in.
nbviewer, GitHub, ``nbconvert --to html`` and a JupyterLab without the kernel show that
output; the live widget hides it while it is connected (it would repeat what the widget
shows) and shows it again once the kernel is gone.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._style import FONT, MUTED, escape
from ._words import PHRASES

__all__ = ["record_html"]


def _hide_dead_widget(record_id: str) -> str:
    # A saved widget output whose model is gone reads "Error displaying widget: model not
    # found" in a JupyterLab or Notebook 7 that trusts the notebook (widget state is not saved
    # by default). This record carries what that widget showed, so in the output area that
    # holds it, that message (an element with text but no child elements) is not shown. The
    # rule only matches in trusted outputs (untrusted ones lose <style>), where it is needed.
    # JupyterLab's and Notebook 7's widget renderer writes that text straight into the output
    # element it is (.jp-OutputArea-output.jupyter-widgets); a live widget's elements inside
    # it (a button without an icon, a Label) are never matched.
    selector = f'.jp-OutputArea:has([data-aurous-record="{escape(record_id)}"])'
    dead = ".jp-OutputArea-output.jupyter-widgets:not(:has(*))"
    return f"<style>{selector} {dead}{{display:none}}</style>"


def record_html(record_id: str, widget: str, parts: Sequence[str]) -> str:
    """The record of one widget: ``parts`` (HTML, each already escaped) under a short note.

    Args:
        record_id: the widget's record id; the live widget finds its records by it.
        widget: what made it, for the note (``"CharacterUploader"``).
        parts: the results, oldest first; none yet gives an empty record.
    """
    head = f'<div class="aurous-record" data-aurous-record="{escape(record_id)}" style="{FONT}">'
    if not parts:
        return head + "</div>"
    note = escape(PHRASES["saved_result"].format(widget))
    return (
        head
        + _hide_dead_widget(record_id)
        + f'<div style="color:{MUTED};font-size:11px;margin-bottom:4px">{note}</div>'
        + '<div style="display:flex;flex-direction:column;gap:10px">'
        + "".join(parts)
        + "</div></div>"
    )
