"""scrypt alone, timed as a process of its own, as bench/speed.py and bench/bench.py both set it
beside the vault's commands that run it.

bench/scrypt_alone.c (OpenSSL's scrypt with the allocator `vault` gives OpenSSL, huge pages for
its buffer) at N minus the same at N=16 in the same round takes away the start-up and leaves the
KDF as the vault runs it. `openssl kdf`, with OpenSSL's own allocator, is the fallback without a
C compiler, and bench/speed.py shows it beside the first for what the allocator gains.

A fresh process touches scrypt's memory for the first time, as `vault` does; a KDF repeated
inside one process (Python's hashlib) reuses memory already mapped and is faster than any first
run (at N=2^14, 16 MiB: 10 to 15 ms on the machine of bench/README.md), which would charge that
difference to the vault. Without either program, hashlib in this process is the fallback, and
`label` says so.
"""

import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile
import time

from spawn import spawn_ms

_compiled = {}


def vault_like():
    """bench/scrypt_alone.c built (once per run, in a temporary directory): scrypt with the
    allocator `vault` gives OpenSSL. None without a C compiler or OpenSSL's headers."""
    if "path" not in _compiled:
        _compiled["path"] = None
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler:
            directory = tempfile.mkdtemp(prefix="vault-bench-kdf-")
            atexit.register(shutil.rmtree, directory, True)
            binary = os.path.join(directory, "scrypt_alone")
            source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scrypt_alone.c")
            built = subprocess.run([compiler, "-O2", source, "-o", binary, "-lcrypto"], capture_output=True)
            _compiled["path"] = binary if built.returncode == 0 else None
    return _compiled["path"]


def command(log_n, as_vault=True):
    """scrypt at N=2^log_n (r=8, p=1), as a process that exits: bench/scrypt_alone.c with the
    vault's allocator (as_vault), else `openssl kdf` with OpenSSL's own. None when neither runs."""
    if as_vault and vault_like():
        return [vault_like(), str(log_n)]
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    return [openssl, "kdf", "-keylen", "32", "-kdfopt", "pass:bench passphrase",
            "-kdfopt", "salt:0123456789abcdef0123456789abcdef", "-kdfopt", f"n:{1 << log_n}",
            "-kdfopt", "r:8", "-kdfopt", "p:1", "-kdfopt", "maxmem_bytes:1073741824", "SCRYPT"]


def scrypt_ms(log_n, env, as_vault=True):
    """One timing of scrypt at N=2^log_n, as a process (or in this one without either)."""
    full, minimal = command(log_n, as_vault), command(4, as_vault)
    if full is None:
        start = time.perf_counter()
        hashlib.scrypt(b"bench passphrase", salt=os.urandom(32), n=1 << log_n, r=8, p=1, maxmem=1 << 30, dklen=32)
        return (time.perf_counter() - start) * 1000
    return spawn_ms(full, env) - spawn_ms(minimal, env)


def label(log_n, as_vault=True):
    command_used = command(log_n, as_vault)
    if command_used is None:
        source = "hashlib, in process"
    elif command_used[0] == vault_like():
        source = "bench/scrypt_alone.c, the vault's allocator"
    else:
        source = "openssl kdf, a process"
    return f"scrypt N=2^{log_n} ({source})"
