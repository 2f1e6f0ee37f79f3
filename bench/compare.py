"""Two builds of `vault` side by side: `vault run -- true` with an `--all` agent key over 10 and
1,000 keys, and `vault --version`, each against `env A=1 true`, interleaved in one run.

In each round the baseline, the before binary and the after binary run back to back (the two
binaries alternating which goes first), so all three share the same moments of load; figures are
medians, ratios medians of the pairwise ratios to the round's baseline (as bench/speed.py).
The vaults are made with the after binary; both must read them. Each binary runs on its own copy
of each vault, so their usage files (whose format may differ) stay apart.

Usage: python3 bench/compare.py BEFORE AFTER [rounds]   (default 61)
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
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 61
BASELINE = ["/usr/bin/env", "A=1", "true"]


def agent_vault(directory, count):
    os.makedirs(directory, mode=0o700)
    passphrase = os.path.join(directory, "passphrase")
    with open(os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(b"bench passphrase")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": directory, "NO_COLOR": "1",
           "VAULT_FILE": os.path.join(directory, "vault.json"), "VAULT_PASSPHRASE_FILE": passphrase}
    subprocess.run([AFTER, "init", "--scrypt-log-n", "14"], env=env, check=True, capture_output=True)
    values = "".join(f"RUN_KEY_{i:04d}=sk-bench-{os.urandom(16).hex()}\n" for i in range(count)).encode()
    subprocess.run([AFTER, "import", "-"], env=env, input=values, check=True, capture_output=True)
    token = subprocess.run([AFTER, "agent-key", "create", "runner", "--all"], env=env, check=True,
                           capture_output=True).stdout.decode().strip()
    del env["VAULT_PASSPHRASE_FILE"]
    return dict(env, VAULT_AGENT_KEY=token)


def own_copy(env, name):
    """A copy of the vault's directory for one binary: each keeps its own usage files, so an
    older binary never meets (and sets aside) a state file of a newer format, or the reverse."""
    directory = os.path.dirname(env["VAULT_FILE"])
    copy = f"{directory}-{name}"
    if not os.path.exists(copy):
        shutil.copytree(directory, copy, symlinks=True)
    return dict(env, HOME=copy, VAULT_FILE=os.path.join(copy, os.path.basename(env["VAULT_FILE"])))


def compare(label, arguments, env):
    binaries = [BEFORE, AFTER]
    # Each binary its own copy of the vault, so its own usage files and its own run cache (a
    # cache is bound to the binary that wrote it: two sharing one would replace each other's).
    envs = {BEFORE: own_copy(env, "before"), AFTER: own_copy(env, "after")}
    # A copy is a new file: a launch fills the run cache only from a file last changed 2 s ago.
    time.sleep(2.2)
    for binary in binaries:  # warm the page cache, the state file and the run cache
        for _ in range(3):
            spawn_ms([binary] + arguments, envs[binary])
    times = {binary: [] for binary in binaries}
    ratios = {binary: [] for binary in binaries}
    bases = []
    for index in range(ROUNDS):
        base = spawn_ms(BASELINE, env)
        bases.append(base)
        for binary in binaries if index % 2 == 0 else binaries[::-1]:
            value = spawn_ms([binary] + arguments, envs[binary])
            times[binary].append(value)
            ratios[binary].append(value / base)
    cells = [f"{statistics.median(ratios[b]):.2f}x ({statistics.median(times[b]):.2f} ms)" for b in binaries]
    print(f"{label:<44} {cells[0]:<20} {cells[1]:<20} env {statistics.median(bases):.2f} ms")


with tempfile.TemporaryDirectory(prefix="vault-compare-") as root:
    print(f"{ROUNDS} rounds, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}")
    print(f"{'figure':<44} {'before':<20} {'after':<20} baseline")
    ten = agent_vault(os.path.join(root, "ten"), 10)
    compare("vault --version", ["--version"], ten)
    compare("vault run -- true, agent key --all, 10 keys", ["run", "--", "true"], ten)
    thousand = agent_vault(os.path.join(root, "thousand"), 1_000)
    compare("vault run -- true, agent key --all, 1,000 keys", ["run", "--", "true"], thousand)
    print(f"load at the end {os.getloadavg()[0]:.2f}")
