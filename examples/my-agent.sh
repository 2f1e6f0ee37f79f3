#!/bin/sh
# An example agent: prints which provider variables it received from `vault run`, masked the
# way vault masks them (first 3 and last 3 characters), and checks that vault's own
# credentials did not reach it. Run it as the README shows:
#   vault --file vault.example.json run -- examples/my-agent.sh
set -eu

mask() {
  # Values of 12 characters or fewer are masked whole, as vault does.
  if [ "${#1}" -le 12 ]; then
    printf '********'
  else
    # POSIX parameter expansion: the first 3 and the last 3 characters.
    printf '%s…%s' "${1%"${1#???}"}" "${1#"${1%???}"}"
  fi
}

found=0
for name in OPENAI_API_KEY ANTHROPIC_API_KEY GOOGLE_API_KEY GEMINI_API_KEY MISTRAL_API_KEY GROQ_API_KEY \
  CO_API_KEY COHERE_API_KEY DEEPSEEK_API_KEY XAI_API_KEY OPENROUTER_API_KEY TOGETHER_API_KEY HF_TOKEN; do
  value=$(printenv "$name" || true)
  if [ -n "$value" ]; then
    printf 'my-agent: %-20s %s\n' "$name" "$(mask "$value")"
    found=$((found + 1))
  fi
done
for name in VAULT_PASSPHRASE VAULT_PASSPHRASE_FILE VAULT_AGENT_KEY; do
  if printenv "$name" >/dev/null; then
    echo "my-agent: $name reached the agent; it should not have" >&2
    exit 1
  fi
done
echo "my-agent: received $found provider variable(s)"
