"""`python -m explorer COMMAND ...`: the shell face of the same functions the app calls.

Each command lives in explorer/commands/<name>.py and provides HELP, add_arguments(parser) and
run(args) -> exit code. Errors meant for the user are printed without a traceback, with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("score", "explain", "eval", "ood", "objectives", "export_delta", "sample", "train", "batch")


class CommandError(Exception):
    """A user-facing failure: printed as 'error: ...' with exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m explorer", description="NSP Explorer from the shell.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"explorer.commands.{name}")
        command = sub.add_parser(name.replace("_", "-"), help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A path given in bytes that are not UTF-8 holds surrogates; echoing it must not crash the output.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CommandError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
