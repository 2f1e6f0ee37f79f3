/// The variables that carry a credential to `vault`: read by the command line, and the one list
/// `ChildEnvironment` strips from every child, so a credential variable added here can never be
/// forgotten there.
public enum CredentialVariable: String, CaseIterable, Sendable {
  case agentKey = "VAULT_AGENT_KEY"
  case passphrase = "VAULT_PASSPHRASE"
  case passphraseFile = "VAULT_PASSPHRASE_FILE"
  case newPassphrase = "VAULT_NEW_PASSPHRASE"
  case newPassphraseFile = "VAULT_NEW_PASSPHRASE_FILE"

  /// The variable's name.
  public var name: String { rawValue }
}
