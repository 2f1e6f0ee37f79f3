"""Two builds of `vault` side by side on the commands that run scrypt: `add` and `get` at 10,000
keys, `vault run -- true` with the passphrase over 1,000 and 10 keys, all at N=2^14.

scrypt's own time varies with the machine by more than these commands' own work (55 to 80 ms at
N=2^14 on the machine of bench/README.md within one morning), so a figure here is the median of
the pairwise differences: in each round the two binaries run back to back (alternating which
goes first), and after minus before is taken per round. Each binary works on its own copy of
each vault (its own usage files and generation record). The vaults are made with the after
binary; both must read them.

Usage: python3 bench/compare-passphrase.py BEFORE AFTER [rounds]   (default 41)
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from spawn import spawn_ms

BEFORE, AFTER = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 41


def environment(directory):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": directory, "NO_COLOR": "1",
            "VAULT_FILE": os.path.join(directory, "vault.json"),
            "VAULT_PASSPHRASE_FILE": os.path.join(directory, "passphrase")}


def passphrase_vault(directory, count, provider=None):
    os.makedirs(directory, mode=0o700)
    with open(os.open(os.path.join(directory, "passphrase"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(b"bench passphrase")
    env = environment(directory)
    subprocess.run([AFTER, "init", "--scrypt-log-n", "14"], env=env, check=True, capture_output=True)
    values = "".join(f"BENCH_KEY_{i:05d}=sk-bench-{os.urandom(16).hex()}\n" for i in range(count)).encode()
    subprocess.run([AFTER, "import", "-"] + (["--provider", provider] if provider else []), env=env, input=values,
                   check=True, capture_output=True)
    return directory


def own_copy(directory, name):
    """A fresh copy of the vault's directory for one binary and one figure."""
    copy = tempfile.mkdtemp(prefix=f"{os.path.basename(directory)}-{name}-", dir=os.path.dirname(directory))
    os.rmdir(copy)
    shutil.copytree(directory, copy, symlinks=True)
    return environment(copy)


def compare(label, directory, arguments_for, stdin=None):
    """`arguments_for(binary, round)` gives the command line of one run."""
    envs = {BEFORE: own_copy(directory, "before"), AFTER: own_copy(directory, "after")}
    for binary in (BEFORE, AFTER):  # warm the page cache and the files each writes
        for warm in range(2):
            spawn_ms(arguments_for(binary, -1 - warm), envs[binary], stdin)
    before, after, differences = [], [], []
    for index in range(ROUNDS):
        order = (BEFORE, AFTER) if index % 2 == 0 else (AFTER, BEFORE)
        timed = {binary: spawn_ms(arguments_for(binary, index), envs[binary], stdin) for binary in order}
        before.append(timed[BEFORE])
        after.append(timed[AFTER])
        differences.append(timed[AFTER] - timed[BEFORE])
    low, _, high = statistics.quantiles(differences, n=4)
    print(f"{label:<44} {statistics.median(before):8.2f} ms {statistics.median(after):8.2f} ms"
          f"  {statistics.median(differences):+7.2f} ms (IQR {low:+.1f} to {high:+.1f})", flush=True)


with tempfile.TemporaryDirectory(prefix="vault-compare-passphrase-") as root:
    print(f"{ROUNDS} rounds, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}")
    print(f"{'figure (N=2^14)':<44} {'before':>11} {'after':>11}  after - before, per round")
    value = os.path.join(root, "value")
    with open(value, "wb") as file:
        file.write(b"sk-bench-added-value-0123456789\n")
    # As bench/speed.py makes them: the 10,000 keys of one provider, the run's keys of none.
    large = passphrase_vault(os.path.join(root, "large"), 10_000, "openai")
    compare("vault add, 10,000 keys", large, lambda binary, index: [binary, "add", f"ADDED_{index + 2}"], value)
    compare("vault get, 10,000 keys", large, lambda binary, _: [binary, "get", "BENCH_KEY_05000"])
    for count in (1_000, 10):
        vault = passphrase_vault(os.path.join(root, f"run{count}"), count)
        compare(f"vault run -- true, passphrase, {count:,} keys", vault, lambda binary, _: [binary, "run", "--", "true"])
    print(f"load at the end {os.getloadavg()[0]:.2f}")
