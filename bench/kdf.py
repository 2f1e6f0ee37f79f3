"""scrypt alone, timed as a process of its own, as bench/speed.py and bench/bench.py both set it
beside the vault's commands that run it.

`openssl kdf` at N minus `openssl kdf` at N=16 in the same round takes away openssl's start-up
and leaves the KDF. A fresh process touches scrypt's memory for the first time, as `vault` does;
a KDF repeated inside one process (Python's hashlib) reuses memory already mapped and is faster
than any first run (at N=2^14, 16 MiB: 10 to 15 ms on the machine of bench/README.md), which
would charge that difference to the vault. Without the openssl tool, hashlib in this process is
the fallback, and `label` says so.
"""

import hashlib
import os
import shutil
import time

from spawn import spawn_ms


def command(log_n):
    """`openssl kdf` running scrypt at N=2^log_n (r=8, p=1) and exiting; None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    return [openssl, "kdf", "-keylen", "32", "-kdfopt", "pass:bench passphrase",
            "-kdfopt", "salt:0123456789abcdef0123456789abcdef", "-kdfopt", f"n:{1 << log_n}",
            "-kdfopt", "r:8", "-kdfopt", "p:1", "-kdfopt", "maxmem_bytes:1073741824", "SCRYPT"]


def scrypt_ms(log_n, env):
    """One timing of scrypt at N=2^log_n, as a process (or in this one without openssl)."""
    full, minimal = command(log_n), command(4)
    if full is None:
        start = time.perf_counter()
        hashlib.scrypt(b"bench passphrase", salt=os.urandom(32), n=1 << log_n, r=8, p=1, maxmem=1 << 30, dklen=32)
        return (time.perf_counter() - start) * 1000
    return spawn_ms(full, env) - spawn_ms(minimal, env)


def label(log_n):
    source = "openssl kdf, a process" if command(log_n) else "hashlib, in process"
    return f"scrypt N=2^{log_n} ({source})"
