#!/usr/bin/env python3
"""An agent that works through the gateway (`vault serve`), with the standard library only.

Run it under `vault run --gateway`, which gives it OPENAI_BASE_URL (the gateway) and
OPENAI_API_KEY (a session token, vs_...), never a provider key:

    vault serve &
    VAULT_AGENT_KEY=vk_... vault run --gateway -- python3 examples/gateway-agent.py "Say hello"

Any OpenAI SDK reads the same two variables, so `openai.OpenAI()` works unchanged. This script
also refuses to run if it can see a provider key or an agent key, to show what it holds.
"""
import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    for name, value in os.environ.items():
        if value.startswith(("vk_", "sk-")):
            print(f"gateway-agent: {name} holds a key it should not have", file=sys.stderr)
            return 1
    base = os.environ.get("OPENAI_BASE_URL")
    token = os.environ.get("OPENAI_API_KEY", "")
    if not base or not token.startswith("vs_"):
        print("gateway-agent: run me under `vault run --gateway`", file=sys.stderr)
        return 2
    prompt = " ".join(sys.argv[1:]) or "Say hello"
    body = json.dumps({"model": os.environ.get("AGENT_MODEL", "gpt-4o-mini"),
                       "messages": [{"role": "user", "content": prompt}]}).encode()
    request = urllib.request.Request(f"{base}/chat/completions", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        # The gateway answers in the provider's error shape: the reason is in error.message.
        detail = json.load(error).get("error", {}).get("message", "")
        print(f"gateway-agent: {error.code}: {detail}", file=sys.stderr)
        return 1
    print(answer["choices"][0]["message"]["content"])
    usage = answer.get("usage") or {}
    print(f"gateway-agent: {usage.get('prompt_tokens', '?')} tokens in, "
          f"{usage.get('completion_tokens', '?')} out", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
