"""The vault's own time beside scrypt, timed apart from scrypt (bench/speed.py).

At N=2^17 one scrypt varies by tens of ms from run to run, so "the run minus scrypt alone" cannot
resolve the 15 ms the passphrase goal allows (bench/README.md, "Ninth round"). This times the
parts of one `vault run -- true` outside scrypt instead, from `strace --seccomp-bpf -ttt` marks
on three kinds of system call only (execve, mmap, munmap): from the start to the mmap of
scrypt's buffer, and from its munmap to the exec of the child. strace stops the process at those
calls alone (about 70 stops a run), which makes the figure a little high; it leaves out any
slowing of scrypt by the parse that runs beside it, which the N=2^14 rows include.
"""

import re
import shutil
import statistics
import subprocess
import tempfile

# With -f and -o, each line starts with the thread's id; -ttt gives seconds since 1970.
LINE = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")
RESUMED = re.compile(r"^<\.\.\. \w+ resumed>(.*)$")


def available():
    """Whether strace is installed and may trace here (ptrace can be refused, e.g. in a container)."""
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "--seccomp-bpf", "-f", "-e", "trace=execve", "-o", "/dev/null", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


def calls(path):
    """(seconds, call) per system call in a trace, a call another thread interrupted (written as
    `... <unfinished ...>`, then `<... NAME resumed> ...`) joined into one line at its start."""
    unfinished = {}
    joined = []
    for line in open(path):
        match = LINE.match(line.rstrip("\n"))
        if not match:
            continue
        thread, seconds, call = match.group(1), float(match.group(2)), match.group(3)
        resumed = RESUMED.match(call)
        if resumed and thread in unfinished:
            start, head = unfinished.pop(thread)
            joined.append((start, head + resumed.group(1)))
        elif call.endswith(" <unfinished ...>"):
            unfinished[thread] = (seconds, call[: -len(" <unfinished ...>")])
        else:
            joined.append((seconds, call))
    return sorted(joined, key=lambda entry: entry[0])


def outside_scrypt_ms(arguments, env, buffer_bytes):
    """Milliseconds of one run outside scrypt: start to the mmap of at least `buffer_bytes`,
    plus the munmap of that mapping to the execve of the child. None when a mark is missing or
    strace failed."""
    with tempfile.NamedTemporaryFile(prefix="vault-phases-") as trace:
        traced = subprocess.run(["strace", "--seccomp-bpf", "-f", "-ttt", "-e", "trace=execve,mmap,munmap", "-o",
                                 trace.name] + arguments, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if traced.returncode != 0:
            return None
        marks = calls(trace.name)
    if not marks:
        return None
    start = marks[0][0]
    mapped = unmapped = child = None
    region = None
    for moment, call in marks[1:]:
        # scrypt's buffer: readable and writable (a new thread's malloc arena reserves as much
        # with PROT_NONE first), unmapped whole, at its address and size.
        size = re.match(r"mmap\(NULL, (\d+), PROT_READ\|PROT_WRITE,.*\) += (0x[0-9a-f]+)", call)
        if mapped is None and size and int(size.group(1)) >= buffer_bytes:
            mapped, region = moment, f"munmap({size.group(2)}, {size.group(1)})"
        elif mapped is not None and unmapped is None and call.startswith(region):
            unmapped = moment
        elif unmapped is not None and child is None and call.startswith("execve("):
            child = moment
    if None in (mapped, unmapped, child):
        return None
    return ((mapped - start) + (child - unmapped)) * 1000


def outside_scrypt(arguments, env, buffer_bytes, runs):
    """(median ms, (first quartile, third quartile), runs that gave every mark), or None when
    fewer than half did."""
    timings = [t for t in (outside_scrypt_ms(arguments, env, buffer_bytes) for _ in range(runs)) if t is not None]
    if len(timings) < max(2, runs // 2):
        return None
    low, _, high = statistics.quantiles(timings, n=4)
    return statistics.median(timings), (low, high), len(timings)
