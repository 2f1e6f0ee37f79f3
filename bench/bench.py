"""Times the built `vault` binary as a user runs it; prints medians next to a baseline.

Every figure is the median wall-clock time of N runs of one whole process, measured in this
same run next to `env A=1 true` (the cost of starting any process here), so a noisy machine
shifts both. Vaults are filled with `vault import` of a generated .env (fake values), at the
low KDF cost tests use (N=2^14) unless a figure says otherwise.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

import kdf

VAULT = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 15
PASSPHRASE = "bench passphrase"


def environment(vault_path, passphrase_file):
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.path.dirname(vault_path),
        "VAULT_FILE": vault_path,
        "VAULT_PASSPHRASE_FILE": passphrase_file,
        "NO_COLOR": "1",
    }


def run(arguments, env, stdin=b""):
    result = subprocess.run(arguments, env=env, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(arguments[:3])} failed ({result.returncode}): {result.stderr.decode()}")
    return result


def median_ms(arguments_for_run, env, stdin=b""):
    samples = []
    for index in range(RUNS):
        arguments = arguments_for_run(index)
        start = time.perf_counter()
        run(arguments, env, stdin)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def make_vault(directory, count, log_n, provider="openai"):
    os.makedirs(directory, mode=0o700)
    vault_path = os.path.join(directory, "vault.json")
    passphrase_file = os.path.join(directory, "passphrase")
    descriptor = os.open(passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(descriptor, PASSPHRASE.encode())
    os.close(descriptor)
    env = environment(vault_path, passphrase_file)
    run([VAULT, "init", "--scrypt-log-n", str(log_n)], env)
    if count:
        lines = "".join(f"BENCH_KEY_{i:05d}=sk-bench-{i:05d}-{os.urandom(16).hex()}\n" for i in range(count))
        run([VAULT, "import", "-"] + (["--provider", provider] if provider else []), env, lines.encode())
    return env


def make_agent_vault(directory):
    """10,000 provider keys and 1,000 agent-key records: 10 active, 990 expired."""
    env = make_vault(directory, 0, 14)
    run([VAULT, "config", "set", "agent-keys.limit", "1000"], env)
    for index in range(990):
        run([VAULT, "agent-key", "create", f"expired-{index}", "--provider", "openai", "--expires", "1s"], env)
    time.sleep(1.5)
    run([VAULT, "config", "set", "agent-keys.limit", "10"], env)
    tokens = []
    for index in range(10):
        lines = "".join(f"GROUP{index}_KEY_{i:02d}=sk-bench-{os.urandom(16).hex()}\n" for i in range(10))
        run([VAULT, "import", "-", "--provider", f"bench-{index}"], env, lines.encode())
        token = run([VAULT, "agent-key", "create", f"active-{index}", "--provider", f"bench-{index}"], env).stdout
        tokens.append(token.decode().strip())
    lines = "".join(f"BULK_KEY_{i:05d}=sk-bench-{os.urandom(16).hex()}\n" for i in range(9_900))
    run([VAULT, "import", "-", "--provider", "openai"], env, lines.encode())
    return env, tokens


def make_run_vault(directory, count):
    """`count` keys of distinct made-up providers (no two claim one variable) and an --all agent key."""
    env = make_vault(directory, 0, 14)
    lines = "".join(f"RUN_KEY_{i:04d}=sk-bench-{os.urandom(16).hex()}\n" for i in range(count))
    run([VAULT, "import", "-"], env, lines.encode())
    token = run([VAULT, "agent-key", "create", "runner", "--all"], env).stdout.decode().strip()
    agent_env = dict(env, VAULT_AGENT_KEY=token)
    del agent_env["VAULT_PASSPHRASE_FILE"]
    return agent_env


def scrypt_ms(env):
    """scrypt N=2^17 alone, as a process (bench/kdf.py): the median of RUNS timings."""
    return statistics.median(kdf.scrypt_ms(17, env) for _ in range(RUNS))


def main():
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as root:
        baseline = ["env", "A=1", "true"]
        rows = []

        def figure(label, arguments_for_run, env, stdin=b""):
            base = median_ms(lambda _: baseline, env)
            value = median_ms(arguments_for_run, env, stdin)
            rows.append((label, value, base))

        default = make_vault(os.path.join(root, "default"), 1, 17)
        figure("unlock at the default KDF (N=2^17): get, 1 key", lambda _: [VAULT, "get", "BENCH_KEY_00000"], default)

        sizes = {}
        for count in (1_000, 10_000):
            env = make_vault(os.path.join(root, f"v{count}"), count, 14)
            sizes[count] = os.path.getsize(env["VAULT_FILE"])
            figure(f"get, {count:,} keys (N=2^14)", lambda _: [VAULT, "get", "BENCH_KEY_00500"], env)
            figure(f"list, {count:,} keys", lambda _: [VAULT, "list"], env)
            figure(
                f"add, {count:,} keys (N=2^14)",
                lambda index, count=count: [VAULT, "add", f"ADDED_{count}_{index}"],
                env,
                b"sk-bench-added-value-0123456789\n",
            )

        for count in (10, 1_000):
            env = make_run_vault(os.path.join(root, f"run{count}"), count)
            figure(f"run -- true, agent key, {count:,} keys in scope", lambda _: [VAULT, "run", "--", "true"], env)
        default_env = make_vault(os.path.join(root, "run-default"), 10, 17, provider=None)
        figure("run -- true, passphrase at the default KDF, 10 keys", lambda _: [VAULT, "run", "--", "true"], default_env)
        scrypt = scrypt_ms(default_env)

        agent_env, tokens = make_agent_vault(os.path.join(root, "agents"))
        agent_env = dict(agent_env, VAULT_AGENT_KEY=tokens[3])
        del agent_env["VAULT_PASSPHRASE_FILE"]
        figure("agent-key verify, 10,000 keys, 1,000 agent keys", lambda _: [VAULT, "agent-key", "verify"], agent_env)
        agent_size = os.path.getsize(agent_env["VAULT_FILE"])

        print(f"vault benchmark: median of {RUNS} runs each, wall clock, this machine ({os.cpu_count()} cores)")
        print(
            f"vault file sizes: 1,000 keys {sizes[1_000] / 1e6:.2f} MB, 10,000 keys {sizes[10_000] / 1e6:.2f} MB, "
            f"10,000 keys + 1,000 agent keys {agent_size / 1e6:.2f} MB"
        )
        print(f"{'figure':<52} {'median':>10} {'baseline':>10} {'ratio':>7}")
        for label, value, base in rows:
            print(f"{label:<52} {value:>8.1f}ms {base:>8.2f}ms {value / base:>6.1f}x")
        by_label = {label: value for label, value, _ in rows}
        with_passphrase = by_label["run -- true, passphrase at the default KDF, 10 keys"]
        print(
            f"{kdf.label(17)} alone: {scrypt:.1f}ms; "
            f"run with the passphrase beyond it: {with_passphrase - scrypt:.1f}ms"
        )
        for verb in ("get", "list", "add"):
            small = next(v for k, v in by_label.items() if k.startswith(f"{verb}, 1,000"))
            large = next(v for k, v in by_label.items() if k.startswith(f"{verb}, 10,000"))
            print(f"growth {verb}: 10x the keys -> {large / small:.1f}x the time")


main()
