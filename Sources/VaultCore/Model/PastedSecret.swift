/// Recognises a secret typed where a name belongs: `vault agent-key show vk_...` or
/// `vault link X --model sk-proj-...`. Such an argument is refused without being echoed or
/// stored; it is already in the shell's history and in `/proc`, but no further.
public enum PastedSecret {
  /// The prefixes of provider keys and tokens in common use, each followed by at least 16 more
  /// characters in a real key (OpenAI, Anthropic, Google, Groq, xAI, Hugging Face, Replicate,
  /// Perplexity, Cerebras, NVIDIA, GitHub, GitLab, Slack, AWS).
  static let keyPrefixes = [
    "sk-", "sk_", "AIza", "gsk_", "xai-", "hf_", "r8_", "pplx-", "csk-", "nvapi-", "ghp_", "gho_", "github_pat_",
    "glpat-", "xoxb-", "xoxp-", "AKIA",
  ]

  /// Whether `text` looks like an agent key token, a provider key or another random secret:
  /// `vk_` and 17 or more characters; a known key prefix and 16 or more; or a run of 24 or more
  /// ASCII letters and digits that changes between upper case, lower case and digits at least
  /// every other character and has two or more capitals not followed by a lower-case letter
  /// (random base62 does; a CamelCase name, whose capitals start words, or a dated model id
  /// does not).
  public static func looksLikeSecret(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    if text.hasPrefix("vk_"), bytes.count >= 20 { return true }
    if keyPrefixes.contains(where: { text.hasPrefix($0) && bytes.count >= $0.utf8.count + 16 }) { return true }
    var run = 0
    var changes = 0
    var capitalsNotStartingWords = 0
    var previous = 0
    for byte in bytes + [0] {
      let kind: Int
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"): kind = 1
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): kind = 2
      case UInt8(ascii: "0")...UInt8(ascii: "9"): kind = 3
      default: kind = 0
      }
      if run > 0, previous == 2, kind != 1 { capitalsNotStartingWords += 1 }
      if kind == 0 {
        if run >= 24, changes * 2 >= run, capitalsNotStartingWords >= 2 { return true }
        run = 0
        changes = 0
        capitalsNotStartingWords = 0
      } else {
        if run > 0, kind != previous { changes += 1 }
        run += 1
      }
      previous = kind
    }
    return false
  }

  /// Refuses `text` as a `role` (key name, agent key name, model ...) when it looks like a
  /// secret; the message never contains it.
  public static func refuse(_ text: String, as role: String) throws {
    guard looksLikeSecret(text) else { return }
    throw VaultError.invalidInput(
      "the \(role) given looks like an agent key token or a provider key; it was not used, stored or shown (secrets go on standard input, never in an argument)"
    )
  }
}
