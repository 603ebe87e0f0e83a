"""The ``stores`` command line (argparse; each command group in its own module).

Exit codes: 0 success, 1 invalid input or a failed operation (any ``StoresError``), 2 usage
errors, 3 an internal error (a bug: one line is printed; ``STORES_DEBUG=1`` shows the traceback).
No traceback reaches the user otherwise, and every error line is scrubbed by ``stores.redact``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn, Sequence

if TYPE_CHECKING:
    import signal
    import threading

__all__ = ["main", "COMMANDS", "COMMAND_MODULES", "EARLY_STOP", "error_line"]

#: modules that each define ``register(subparsers)``; a command's heavy imports stay inside
#: its handler so ``stores --help`` stays fast.
COMMAND_MODULES = (
    "stores.cli.catalog_cmds",
    "stores.cli.render_cmds",
    "stores.cli.run_cmds",
    "stores.cli.transfer_cmds",
    "stores.cli.edit_cmds",
    "stores.cli.chart_cmds",
    "stores.cli.completion",
)


#: the commands each module registers, so that a command line naming one builds that module's
#: parsers only (building all of them costs 15-20 ms of every command's start); the tests check
#: it against what ``register`` adds
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("validate", "list", "schema"), "stores.cli.catalog_cmds"),
    **dict.fromkeys(("render", "secret"), "stores.cli.render_cmds"),
    **dict.fromkeys(("paths", "env"), "stores.cli.run_cmds"),
    **dict.fromkeys(("ls", "cp", "sync"), "stores.cli.transfer_cmds"),
    **dict.fromkeys(("migrate", "add", "remove", "set"), "stores.cli.edit_cmds"),
    "chart": "stores.cli.chart_cmds",
    "completion": "stores.cli.completion",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors: exit 2, no traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``argv`` whose first word is a command, only that command's
    module (the usage, the errors and the help of that command are the same either way)."""
    parser = _Parser(
        prog="stores",
        description="Storage connections and volume mounts for ML runs on Kubernetes.",
    )
    from stores import __version__

    parser.add_argument("-V", "--version", action="version", version=f"stores {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    first = argv[0] if argv else None
    for name in (COMMANDS[first],) if first in COMMANDS else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


#: set by SIGTERM/SIGINT when ``sync --watch`` runs: its handler is the first thing main does
EARLY_STOP: "threading.Event | None" = None


def _watch_signals_first(argv: Sequence[str]) -> dict[signal.Signals, Any]:
    """``stores sync --watch`` (a sidecar) takes SIGTERM before parsing or importing anything,
    so a pod stopped while the sidecar starts still gets its final sync."""
    global EARLY_STOP
    EARLY_STOP = None
    if "sync" not in argv or "--watch" not in argv:
        return {}
    import signal
    import threading

    stop = EARLY_STOP = threading.Event()
    return {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}


def main(argv: Sequence[str] | None = None) -> int:
    previous = _watch_signals_first(sys.argv[1:] if argv is None else list(argv))
    try:
        return _main(argv)
    finally:
        if previous:
            import signal

            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _main(argv: Sequence[str] | None) -> int:
    from ..errors import StoresError

    if "stores.logs" in sys.modules:  # an earlier main() in this process configured logging
        sys.modules["stores.logs"].reset()
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    try:
        return int(args.func(args) or 0)
    except StoresError as exc:
        # already scrubbed when raised (StoresError's own rule); a second pass costs nothing
        error_line(_scrub(str(exc)))
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: one line, traceback only on request
        if os.environ.get("STORES_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {_scrub(str(exc))} (set STORES_DEBUG=1 for details)",
              file=sys.stderr)
        return 3


def error_line(message: str) -> None:
    """``error: MESSAGE`` on stderr; a JSON object like every other line when the command logs
    in JSON (``--log-format json``)."""
    if "stores.logs" in sys.modules and sys.modules["stores.logs"].active_format() == "json":
        import logging

        logging.getLogger("stores.cli").error("%s", message)
        return
    print(f"error: {message}", file=sys.stderr)


def _scrub(text: str) -> str:
    """The one redaction policy (``stores.redact``) on what the CLI prints about an error: a
    message from an SDK or a bug may quote a credentialed URL or a signed query."""
    from ..redact import redact_text

    return redact_text(text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
