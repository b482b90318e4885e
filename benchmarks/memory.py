"""Row "memory": peak RSS growth of a process that uploads six 10 MB phone photos from disk.

A child process (``python -m benchmarks.memory ours|peer URL KEY PATH...``) warms up with
one small character (so imports, thread pools and connections are in its baseline), resets
its peak (``/proc/self/clear_refs``), then creates the character from the six files and
reports ``VmHWM`` − the RSS before. "ours" is ``client.create_character_from_files``, "peer"
the parallel peer (which streams each file from disk). The sandbox runs in a third process,
so the bytes it keeps do not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ._common import MB, Config, Context, Row, fmt_bytes, subprocess_env
from ._server import SandboxProcess

TARGET = 10 * MB  # growth, ours


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(who: str, url: str, key: str, paths: list[str]) -> dict[str, float]:
    """Runs in the child: warm up, reset the peak, create the character, measure."""
    from aurous_nb import AurousClient, samples

    from . import peer

    warm = samples.paths()[:2]
    with AurousClient(api_key=key, base_url=url) as client:
        if who == "ours":
            client.create_character_from_files("Warm-up", warm)
        else:
            peer.create_character(url, key, "Warm-up", warm)
        reset = True
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
                fh.write("5")  # resets VmHWM to the current RSS
        except OSError:
            reset = False
        before = _status_kb("VmRSS")
        if who == "ours":
            refs = len(client.create_character_from_files("Memory", paths).refs)
        else:
            refs = len(peer.create_character(url, key, "Memory", [Path(p) for p in paths])["refs"])
        assert refs == len(paths)
        peak = _status_kb("VmHWM")
    return {
        "rss_before": before * 1024,
        "peak": peak * 1024,
        "growth": (peak - before) * 1024,
        "peak_reset": reset,
    }


def _measure(who: str, url: str, key: str, files: list[Path]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", who, url, key] + [str(p) for p in files],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=Path(__file__).resolve().parent.parent,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the measuring child ({who}) failed: {out.stderr.strip()[-400:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(config: Config, context: Context) -> list[Row]:
    spec = config.memory_set
    files = context.photos(spec)
    largest = max(p.stat().st_size for p in files)
    with SandboxProcess(synth_seconds=0) as sandbox:
        ours = _measure("ours", sandbox.url, sandbox.api_key, files)
        theirs = _measure("peer", sandbox.url, sandbox.api_key, files)
    how = "" if ours["peak_reset"] else " (peak could not be reset: includes the warm-up)"
    notes = [
        "Each child warms up with one small character first, so imports (Pillow, requests), "
        "thread pools and connections are in its baseline, then resets its peak with "
        "`/proc/self/clear_refs` and creates the character. With a decode of each photo "
        "before the first request this row measured 23.7 MB; before the thumbnail stopped "
        "copying the decoded image, 113 MB.",
    ]
    if ours["growth"] > TARGET:
        notes.append(
            f"**Missed:** ours grows {fmt_bytes(ours['growth'] - theirs['growth'])} more than "
            "the peer, which only streams each file: that is what the local checks hold while "
            "they run (file bytes, decoded pixels, thumbnails), several photos at a time. What "
            "closes it: thumbnails from a reduced-scale decode, one photo's pixels at a time, "
            "the PUT streamed from disk rather than from bytes in memory."
        )
    return [
        Row(
            name="memory",
            measure=(
                f"peak RSS growth creating a character from six {fmt_bytes(largest)} phone "
                "photos on disk (create_character_from_files, its own process)"
            ),
            value=fmt_bytes(ours["growth"]),
            target=f"≤ {fmt_bytes(TARGET)}",
            ok=ours["growth"] <= TARGET,
            detail=(
                f"RSS before {fmt_bytes(ours['rss_before'])}, peak {fmt_bytes(ours['peak'])}"
                f"{how}; the parallel peer (streams from disk): {fmt_bytes(theirs['growth'])}"
            ),
            notes=notes,
        )
    ]


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])))
