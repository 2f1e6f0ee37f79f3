"""The vault's own time beside scrypt, timed apart from scrypt (bench/speed.py).

At N=2^17 one scrypt varies by tens of ms from run to run, so "the run minus scrypt alone" cannot
resolve the 15 ms the passphrase goal allows (bench/README.md, "Ninth round"). This times the
parts of one `vault run -- true` outside scrypt instead, from `strace --seccomp-bpf -tt` marks on
three kinds of system call only (execve, mmap, munmap): from the start to the mmap of scrypt's
buffer, and from its munmap to the exec of the child. strace stops the process at those calls
alone, so the marks cost a few of its microseconds each.
"""

import os
import re
import shutil
import statistics
import subprocess
import tempfile

MARK = re.compile(r"^(?:\[pid +\d+\] |\d+ +)?(\d+):(\d+):(\d+\.\d+) (.*)$")


def available():
    return shutil.which("strace") is not None


def outside_scrypt_ms(arguments, env, buffer_bytes):
    """Milliseconds of one run outside scrypt: start to the mmap of at least `buffer_bytes`,
    plus the munmap of that mapping to the execve of the child. None when a mark is missing."""
    with tempfile.NamedTemporaryFile(prefix="vault-phases-") as trace:
        subprocess.run(["strace", "--seccomp-bpf", "-f", "-tt", "-e", "trace=execve,mmap,munmap", "-o", trace.name]
                       + arguments, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        marks = []
        for line in open(trace.name):
            match = MARK.match(line.strip())
            if match:
                hours, minutes, seconds, call = match.groups()
                marks.append((int(hours) * 3600 + int(minutes) * 60 + float(seconds), call))
    start = marks[0][0] if marks else None
    mapped = unmapped = child = None
    region = None
    for moment, call in marks[1:]:
        # scrypt's buffer: readable and writable (a new thread's malloc arena reserves as much
        # with PROT_NONE first), unmapped whole, at its address and size.
        size = re.match(r"mmap\(NULL, (\d+), PROT_READ\|PROT_WRITE,.*\) = (0x[0-9a-f]+)", call)
        if mapped is None and size and int(size.group(1)) >= buffer_bytes:
            mapped, region = moment, f"munmap({size.group(2)}, {size.group(1)})"
        elif mapped is not None and unmapped is None and call.startswith(region):
            unmapped = moment
        elif unmapped is not None and call.startswith("execve(") and child is None:
            child = moment
    if None in (start, mapped, unmapped, child):
        return None
    return ((mapped - start) + (child - unmapped)) * 1000


def outside_scrypt(arguments, env, buffer_bytes, runs):
    """(median ms, (first quartile, third quartile)) over `runs` runs that gave every mark."""
    timings = [t for t in (outside_scrypt_ms(arguments, env, buffer_bytes) for _ in range(runs)) if t is not None]
    if len(timings) < 2:
        return None
    low, _, high = statistics.quantiles(timings, n=4)
    return statistics.median(timings), (low, high)
