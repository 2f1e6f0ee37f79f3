/// Where a member's age identity is looked for by default: `$XDG_CONFIG_HOME/llm-vault/identity`,
/// else `~/.config/llm-vault/identity`. Shared by the command line (which reads it) and
/// `vault doctor` (which checks its mode).
public enum IdentityLocation {
  public static let variable = "VAULT_IDENTITY"

  public static func defaultPath(environment: [String: String]) -> String {
    if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
      return config + "/llm-vault/identity"
    }
    return (environment["HOME"] ?? "") + "/.config/llm-vault/identity"
  }
}
