"""``python -m aurous_nb.sandbox``: run the sandbox standalone until Ctrl-C.

Prints the base URL and the (local, throwaway) API key so other processes can use it.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence

from .server import Sandbox, is_loopback


def build_parser() -> argparse.ArgumentParser:
    # the same code serves `python -m aurous_nb.sandbox` and the `aurous-sandbox` script
    script = os.path.basename(sys.argv[0] or "")
    parser = argparse.ArgumentParser(
        prog="python -m aurous_nb.sandbox" if script in ("__main__.py", "") else script,
        description="Serve a local emulator of the Aurous Labs character API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="extra latency per request")
    parser.add_argument(
        "--synth-seconds", type=float, default=3.0, help="how long a synthesis takes (default 3)"
    )
    parser.add_argument("--api-key", default=None, help="fix the key (al_live_<64 hex>)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aurous_nb.sandbox`` and the ``aurous-sandbox`` script."""
    args = build_parser().parse_args(argv)
    if not is_loopback(args.host):
        print(
            f"WARNING: listening on {args.host} makes the sandbox reachable from other "
            "machines; it has no real security. Use 127.0.0.1 unless you mean it.",
            file=sys.stderr,
        )
    try:
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            latency_ms=args.latency_ms,
            synth_seconds=args.synth_seconds,
        )
        sandbox.start()
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Aurous sandbox at {sandbox.url}", flush=True)
    print(f"AUROUS_BASE_URL={sandbox.url}", flush=True)
    print(f"AUROUS_API_KEY={sandbox.api_key}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
