"""Runs a command on a new pseudo-terminal and answers its prompts, for TerminalTests.

usage: pty_driver.py SCRIPT_JSON
SCRIPT_JSON: {"argv": [...], "env": {...}, "steps": [["expect", "text"], ["send", "text"], ...]}
Prints a JSON object: {"status": exit status, "transcript": everything the terminal showed}.
"""

import json
import os
import pty
import select
import sys
import time

script = json.loads(sys.argv[1])
pid, master = pty.fork()
if pid == 0:
    os.execve(script["argv"][0], script["argv"], script["env"])

transcript = b""


def read_until(text, timeout=20.0):
    global transcript
    deadline = time.time() + timeout
    while text.encode() not in transcript:
        remaining = deadline - time.time()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([master], [], [], remaining)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            transcript += chunk
    return True


ok = True
for kind, text in script["steps"]:
    if kind == "expect":
        ok = read_until(text) and ok
    else:
        time.sleep(0.05)
        os.write(master, text.encode())

# Drain what is left, then reap.
while True:
    try:
        ready, _, _ = select.select([master], [], [], 5.0)
        if not ready:
            break
        chunk = os.read(master, 4096)
        if not chunk:
            break
        transcript += chunk
    except OSError:
        break
# A command still waiting for input (a prompt the script did not answer) is ended, so a test
# fails instead of hanging.
deadline = time.time() + 10.0
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() > deadline:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        ok = False
        break
    time.sleep(0.05)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "transcript": transcript.decode("utf-8", "replace"), "ok": ok}))
