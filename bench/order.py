"""Writes the link order file of the install build: the functions a `vault run` with an agent
key and 10 keys executes (served from the run cache, then reading the vault), which the linker then places side by side (lld's
`--symbol-ordering-file`, set in Package.swift for the static PIE only).

Why: a process maps its code a 64 KiB window at a time, on the first touch of each window. Left
in link order, the few hundred functions a launch runs are spread over the whole 10 MB of code,
so each start took about 70 such page faults; packed together they take about 30
(bench/README.md, "Fourth round"). A name the build no longer has is skipped by the linker, so an
old file costs speed, never correctness: regenerate it after large changes to the run path. The
file itself must exist (Package.swift always passes it to the install build's link).

Usage: python3 bench/order.py VAULT OUTPUT   (bench/make-order builds VAULT and runs this)
"""

import os
import re
import subprocess
import sys
import tempfile
import time

VAULT, OUTPUT = sys.argv[1], sys.argv[2]


def run(arguments, env, stdin=b""):
    result = subprocess.run(arguments, env=env, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if result.returncode != 0:
        sys.exit(f"order: {' '.join(arguments[:3])} failed ({result.returncode}): {result.stderr.decode()}")
    return result


def profiled_launch(root, launch, label):
    """One `vault run` under callgrind; the profile's path. Symbol names as the linker knows them
    (--demangle=no). The command run is one that does not exist: the exec fails after everything
    else a launch does, and the vault process exits (127) with its profile written, which a
    successful exec would not leave."""
    profile = os.path.join(root, f"callgrind.{label}.out")
    missing = os.path.join(root, "no-such-agent")
    result = subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={profile}",
                             VAULT, "run", "--", missing], env=launch, capture_output=True)
    if result.returncode != 127 or not os.path.exists(profile):
        sys.exit(f"order: the profiled run ended with {result.returncode}: {result.stderr.decode()[-500:]}")
    return profile


def main():
    with tempfile.TemporaryDirectory(prefix="vault-order.") as root:
        passphrase = os.path.join(root, "passphrase")
        with open(os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            file.write(b"order passphrase")
        env = {"PATH": "/usr/bin:/bin", "HOME": root, "VAULT_FILE": os.path.join(root, "vault.json"),
               "VAULT_PASSPHRASE_FILE": passphrase}
        run([VAULT, "init", "--scrypt-log-n", "14"], env)
        dotenv = "".join(f"ORDER_KEY_{i:02d}=sk-order-{os.urandom(16).hex()}\n" for i in range(10))
        run([VAULT, "import", "-"], env, dotenv.encode())
        token = run([VAULT, "agent-key", "create", "order", "--all"], env).stdout.decode().strip()
        launch = {"PATH": env["PATH"], "HOME": root, "VAULT_FILE": env["VAULT_FILE"], "VAULT_AGENT_KEY": token}
        # A launch fills the run cache only from a vault file last changed 2 s ago: the first
        # profiled launch reads the vault and fills it, the second is served from it. The second's
        # functions come first (the launch an agent makes again and again), then the first's.
        time.sleep(2.2)
        names = []
        seen = set()
        for profile in [profiled_launch(root, launch, "first"), profiled_launch(root, launch, "second")][::-1]:
            with open(profile) as file:
                for line in file:
                    match = re.match(r"c?fn=\(\d+\) (.+)$", line)
                    if not match:
                        continue
                    # callgrind marks a recursive call's cycle as NAME'2.
                    name = re.sub(r"'\d+$", "", match.group(1).strip())
                    if name.startswith("0x") or " " in name or name in seen:
                        continue
                    seen.add(name)
                    names.append(name)
    with open(OUTPUT, "w") as file:
        file.write("".join(name + "\n" for name in names))
    print(f"order: {len(names)} functions written to {OUTPUT}", file=sys.stderr)


main()
