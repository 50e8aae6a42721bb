"""The package's known failures, and the one policy that turns them into a command's exit status.

A `FlameError` is a failure the user can act on (a bad flag value, a missing file, a refused overlap, an
unreachable endpoint): its message is one line, and `flame` prints it as ``flame: error: MESSAGE`` and exits
with status 2. Anything else is a bug and keeps its traceback. Each known error also keeps the builtin base
it had before (``RaterError`` is still a ``RuntimeError``), so code that catches those still works.

This module imports nothing of the package, so every layer can raise these without importing upward.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any


class FlameError(Exception):
    """A known failure the user can act on; its message is one line (no traceback is shown)."""


class CliError(FlameError):
    """A command line that cannot be run as given (an unknown split, nothing named to evaluate)."""


class UsageError(FlameError, ValueError):
    """A call of the Python API that cannot be carried out as given (two runs to compare and nowhere to write
    them, bias probes without a pairwise benchmark). A ``ValueError`` too: callers that caught one still do."""


def run_command(handler: Callable[[Any], int | None], args: Any) -> int:
    """Run a subcommand's handler under the CLI's one error policy; returns the exit status.

    Known errors: one line on stderr, status 2. ``FileNotFoundError`` counts as known: at the CLI it is a
    path the user named, and its message names that path. Ctrl-C: 130. A reader that left the pipe: 1.
    Every other exception propagates with its traceback: a message of one line would hide a bug.
    """
    try:
        rc = handler(args) or 0
        sys.stdout.flush()  # a pipe's reader that left is noticed here, not at interpreter exit
        return rc
    except (FlameError, FileNotFoundError) as e:
        print(f"flame: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flame: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `flame cache info | head`: the reader left. Python would still flush stdout at exit and fail again,
        # so stdout is pointed at /dev/null first (the recipe of Python's signal documentation).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
