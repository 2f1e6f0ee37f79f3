#!/usr/bin/env python3
"""The gateway benchmark: the same request sent straight to a local TLS upstream and through
`vault serve`, in one run, alternating, with medians and ratios.

Usage: bench/gateway [rounds] [seconds-per-load]   (see bench/README.md)

Needs wrk (Debian: wrk) for the load and, for a fast upstream, nginx (Debian: nginx-light); without
nginx the Python fake upstream stands in and the throughput figure then measures it, not vault.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TLS = os.path.join(ROOT, "Tests", "Fixtures", "tls")
BODY = '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'
ANSWER = '{"id":"bench","object":"chat.completion","usage":{"prompt_tokens":10,"completion_tokens":5}}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def start_upstream(work):
    port = free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx:
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000; keepalive_timeout 60s;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fcgi;
  uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl; ssl_certificate {TLS}/server.pem; ssl_certificate_key {TLS}/server.key;
    location / {{ default_type application/json; return 200 '{ANSWER}'; }}
  }}
}}
""")
        process = subprocess.Popen([nginx, "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
        kind = "nginx (1 worker, TLS)"
    else:
        process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "Tests", "Fixtures", "fake_upstream.py"), "--cert",
             os.path.join(TLS, "server.pem"), "--key", os.path.join(TLS, "server.key"), "--port-file",
             os.path.join(work, "port"), "--max-requests", "10000000", "--max-seconds", "3600"],
            stdout=subprocess.DEVNULL)
        while not os.path.exists(os.path.join(work, "port")):
            time.sleep(0.05)
        port = int(open(os.path.join(work, "port")).read())
        kind = "python fake upstream (TLS); install nginx-light for a fast one"
    wait_port(port)
    return process, port, kind


def wrk(url, connections, seconds, headers, work):
    script = os.path.join(work, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = ' + json.dumps(BODY) + "\n")
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        for name, value in headers.items():
            f.write(f'wrk.headers["{name}"] = "{value}"\n')
    out = subprocess.run(
        ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", script,
         url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(p):
        match = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx responses\n{out}")
    return rps, latency(50), latency(99)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    vault = sys.argv[1]
    if not shutil.which("wrk"):
        raise SystemExit("bench/gateway needs wrk (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="vault-gw-bench-")
    env = dict(os.environ, VAULT_FILE=os.path.join(work, "vault.json"), VAULT_PASSPHRASE="bench-passphrase-123",
               VAULT_CA_FILE=os.path.join(TLS, "ca.pem"))
    env.pop("VAULT_AGENT_KEY", None)

    def run(*arguments, stdin=None):
        return subprocess.run([vault, *arguments], env=env, input=stdin, capture_output=True, text=True, check=True)

    upstream, port, kind = start_upstream(work)
    gateway = None
    try:
        run("init", "--scrypt-log-n", "14")
        run("add", "OPENAI_BENCH", "--provider", "openai", stdin="sk-bench-not-a-real-key-0123456789")
        run("config", "set", "provider.openai.base-url", f"https://127.0.0.1:{port}/v1")
        token = run("agent-key", "create", "bench", "--all").stdout.strip()
        gport = free_port()
        gateway = subprocess.Popen([vault, "serve", "--listen", f"127.0.0.1:{gport}", "--log-file", "/dev/null"],
                                   env=env, stderr=subprocess.DEVNULL)
        wait_port(gport)
        direct = f"https://127.0.0.1:{port}/v1/chat/completions"
        through = f"http://127.0.0.1:{gport}/openai/chat/completions"
        auth = {"Authorization": f"Bearer {token}"}
        wrk(through, 4, 1, auth, work)  # warm the pool and the caches
        results = {key: [] for key in ["d1", "g1", "d32", "g32"]}
        for _ in range(rounds):
            results["d1"].append(wrk(direct, 1, seconds, {}, work))
            results["g1"].append(wrk(through, 1, seconds, auth, work))
            results["d32"].append(wrk(direct, 32, seconds, {}, work))
            results["g32"].append(wrk(through, 32, seconds, auth, work))

        def med(key, index):
            return statistics.median(r[index] for r in results[key])

        idle_before = rss_kib(gateway.pid)
        sockets = []
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", gport))
            sockets.append(s)
        time.sleep(1.5)
        idle_after = rss_kib(gateway.pid)
        for s in sockets:
            s.close()

        print(f"upstream: {kind}; {rounds} rounds of {seconds} s each, alternating; medians")
        print(f"{'figure':<44}{'direct':>12}{'gateway':>12}{'ratio / added':>16}")
        print(f"{'1 connection, median latency (ms)':<44}{med('d1', 1):>12.3f}{med('g1', 1):>12.3f}"
              f"{med('g1', 1) - med('d1', 1):>+15.3f}ms")
        print(f"{'1 connection, p99 latency (ms)':<44}{med('d1', 2):>12.3f}{med('g1', 2):>12.3f}"
              f"{med('g1', 2) - med('d1', 2):>+15.3f}ms")
        print(f"{'1 connection, requests/s':<44}{med('d1', 0):>12.0f}{med('g1', 0):>12.0f}"
              f"{med('g1', 0) / med('d1', 0):>15.2f}x")
        print(f"{'32 connections, requests/s':<44}{med('d32', 0):>12.0f}{med('g32', 0):>12.0f}"
              f"{med('g32', 0) / med('d32', 0):>15.2f}x")
        print(f"{'32 connections, median latency (ms)':<44}{med('d32', 1):>12.3f}{med('g32', 1):>12.3f}"
              f"{med('g32', 1) - med('d32', 1):>+15.3f}ms")
        print(f"{'gateway resident memory, idle (MiB)':<44}{'':>12}{idle_before / 1024:>12.1f}")
        print(f"{'... with 1,000 idle connections (MiB)':<44}{'':>12}{idle_after / 1024:>12.1f}")
    finally:
        if gateway:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=40)
        upstream.terminate()
        upstream.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
