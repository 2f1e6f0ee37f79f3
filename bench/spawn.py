"""Timing one process, as bench/speed.py and bench/compare.py both do: started with posix_spawn,
stdin, stdout and stderr on /dev/null, so the harness adds as little as it can to the figure."""

import os
import subprocess
import sys
import time

DEVNULL = os.open(os.devnull, os.O_RDWR)


def spawn_ms(arguments, env, stdin=None):
    """Wall-clock milliseconds of one process, from spawn to exit; fails loudly on non-zero.
    `stdin`, a path, is opened as the process's standard input (else /dev/null)."""
    start = time.perf_counter()
    pid = os.posix_spawn(
        arguments[0], arguments, env,
        file_actions=[(os.POSIX_SPAWN_DUP2, DEVNULL, 0) if stdin is None else (os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
                      (os.POSIX_SPAWN_DUP2, DEVNULL, 1), (os.POSIX_SPAWN_DUP2, DEVNULL, 2)])
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        subprocess.run(arguments, env=env)  # shows the error
        sys.exit(f"bench: {' '.join(arguments[:4])} failed")
    return elapsed
