"""Several processes of the portal, one after the other, for the tests that need more than one.

Each run of ``script`` is a process of its own (its own memory, app and connections), forked
from one process that imported the portal once, as gunicorn's ``--preload`` does: importing
the portal is about two seconds of CPU, and a fresh interpreter for each run paid it again.
The forking parent builds an app to import every module an app needs, and connects to
nothing, so the children inherit no connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PARENT = textwrap.dedent(
    """
    import json, os, sys, traceback
    from portal import create_app

    create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
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


def run_each(
    script: str, runs: list[list[str]], env: dict[str, str], timeout: float = 300
) -> list[str]:
    """The standard output of ``script`` run with each list of arguments in turn, in a
    process of its own; an error or a non-zero exit in any of them fails the call."""
    result = subprocess.run(
        [sys.executable, "-c", PARENT, script, json.dumps(runs)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = result.stdout.split("\0\n")
    assert len(outputs) == len(runs) + 1 and not outputs[-1], result.stdout[-3000:]
    return [output.strip() for output in outputs[:-1]]
