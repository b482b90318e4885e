"""A sandbox in its own process, so a benchmark's client and server do not share one GIL.

Run as ``python -m benchmarks._server '<json Sandbox options>'``: prints one line
``READY <url> <api_key>``, then answers commands on stdin, one per line, until EOF:
``log`` prints the request log as one JSON line (route, status, sandbox time, body size),
``clear`` empties the log, ``configure <json>`` changes options (``latency_ms``...),
``team <n>`` adds a team with n characters (straight into the state: the list row needs
10,000 and does not measure creating them) and prints its key and its oldest ids, ``key``
mints another key of the default team. :class:`SandboxProcess` drives it from the benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def populate(sandbox: Any, team_id: str, count: int) -> list[str]:
    """Store ``count`` upload-flow characters of six refs for a team; their ids, oldest first."""
    from aurous_nb.sandbox.clock import ulid
    from aurous_nb.sandbox.state import CharacterRecord, StoredRef

    state = sandbox.state
    poses = ("front", "side", "back", "portrait", "front", "other")
    ids = []
    with state.lock:
        for i in range(count):
            now = state.now()
            refs = [StoredRef("ref_" + ulid(now), pose, "image/jpeg", b"") for pose in poses]
            ids.append("char_" + ulid(now))
            state.add_character(
                CharacterRecord(
                    id=ids[-1],
                    team_id=team_id,
                    seq=state.next_seq(),
                    name=f"Populated {i + 1}",
                    status="ready",
                    created_at=now,
                    updated_at=now,
                    aurous_version="2026-05-15",
                    flow="upload",
                    refs=refs,
                )
            )
    return ids


def _serve(options: dict[str, Any]) -> int:
    from aurous_nb.sandbox import Sandbox

    with Sandbox(**options) as sandbox:
        print(f"READY {sandbox.url} {sandbox.api_key}", flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "log":
                rows = [[r.route, r.status, r.time, r.body_size] for r in sandbox.requests]
                print(json.dumps(rows), flush=True)
            elif command == "clear":
                sandbox.clear_log()
                print("OK", flush=True)
            elif command == "configure":
                sandbox.configure(**json.loads(arg))
                print("OK", flush=True)
            elif command == "team":
                team_id = sandbox.add_team(f"Team of {arg}")
                ids = populate(sandbox, team_id, int(arg))
                print(json.dumps({"key": sandbox.add_key(team_id), "oldest": ids[:25]}), flush=True)
            elif command == "key":
                print(sandbox.add_key(), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    return 0


class SandboxProcess:
    """Start ``benchmarks._server`` in a child process; a context manager that stops it.

    Args:
        **options: keyword arguments of :class:`aurous_nb.sandbox.Sandbox` (JSON-able).
    """

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.url = ""
        self.api_key = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SandboxProcess:
        env = dict(os.environ)
        env.pop("AUROUS_API_KEY", None)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server", json.dumps(self.options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "READY":
            self.__exit__(None, None, None)
            raise RuntimeError(f"the sandbox process did not start: {' '.join(line)!r}")
        self.url, self.api_key = line[1], line[2]
        return self

    def _command(self, command: str) -> str:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return self._proc.stdout.readline()

    def log(self) -> list[tuple[str | None, int | None, float, int]]:
        """The child's request log: (route, status, sandbox-clock time, body bytes)."""
        return [tuple(row) for row in json.loads(self._command("log"))]  # type: ignore[misc]

    def clear_log(self) -> None:
        self._command("clear")

    def configure(self, **options: Any) -> None:
        """Change sandbox options (``latency_ms=...``) in the child."""
        self._check(self._command("configure " + json.dumps(options)))

    def add_team(self, characters: int) -> tuple[str, list[str]]:
        """A new team with ``characters`` characters: its key and its 25 oldest ids."""
        answer = json.loads(self._command(f"team {characters}"))
        return answer["key"], answer["oldest"]

    def add_key(self) -> str:
        """A new full-scope key of the default team."""
        return self._command("key").strip()

    @staticmethod
    def _check(answer: str) -> None:
        if answer.strip() != "OK":
            raise RuntimeError(f"the sandbox process answered {answer.strip()!r}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # EOF: the child stops its server and exits
        deadline = time.monotonic() + 5
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    raise SystemExit(_serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
