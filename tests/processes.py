"""Several processes of the portal, one after the other, for the tests that need more than one.

Each run of ``script`` is a process of its own (its own memory, app and connections), forked
from one process that imported the portal once, as gunicorn's ``--preload`` does: importing
the portal is about two seconds of CPU, and a fresh interpreter for each run paid it again.
The forking parent imports every module of the portal and builds no app: it connects to
nothing, and leaves no settings in the extensions (the rate limiter, the page cache) that a
child would then find instead of its own.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import portal

#: The folder that holds ``tests``, for the forking parent to import this module from.
ROOT = Path(__file__).resolve().parent.parent

PARENT = textwrap.dedent(
    """
    import json, os, sys, traceback

    sys.path.insert(0, sys.argv[3])
    from tests.processes import import_the_portal

    import_the_portal()
    script, runs = sys.argv[1], json.loads(sys.argv[2])
    for arguments in runs:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                sys.argv = ["-c", *arguments]
                exec(compile(script, "<script>", "exec"), {"__name__": "__main__"})
            except SystemExit as stop:
                status = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
            except BaseException:
                traceback.print_exc()
                status = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
        _, waited = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(waited)
        if code:
            sys.exit(f"run {arguments!r} ended with {code}")
        print("\\0", flush=True)
    """
)


def import_the_portal() -> None:
    """Every module of the portal, as a fresh process that builds an app would import them."""
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        # ``__main__`` runs the command line; ``wsgi`` builds the served app, whose settings
        # (the rate limiter's key prefix and storage) each child would then find as its own.
        if module.name not in ("portal.__main__", "portal.wsgi"):
            importlib.import_module(module.name)


def run_each(
    script: str, runs: list[list[str]], env: dict[str, str], timeout: float = 300
) -> list[str]:
    """The standard output of ``script`` run with each list of arguments in turn, in a
    process of its own; an error or a non-zero exit in any of them fails the call."""
    result = subprocess.run(
        [sys.executable, "-c", PARENT, script, json.dumps(runs), str(ROOT)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = result.stdout.split("\0\n")
    assert len(outputs) == len(runs) + 1 and not outputs[-1], result.stdout[-3000:]
    return [output.strip() for output in outputs[:-1]]
