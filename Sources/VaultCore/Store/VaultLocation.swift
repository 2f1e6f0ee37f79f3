/// Where the vault file lives: `--file PATH`, else `VAULT_FILE`, else
/// `$XDG_DATA_HOME/llm-vault/vault.json`, else `~/.local/share/llm-vault/vault.json`.
public struct VaultLocation: Equatable, Sendable {
  public var path: String
  /// Whether the path is the default one, whose directory `vault` creates 0700.
  public var isDefault: Bool

  public init(path: String, isDefault: Bool = false) {
    self.path = path
    self.isDefault = isDefault
  }

  public static func resolve(fileOption: String?, environment: [String: String]) throws -> VaultLocation {
    if let fileOption {
      guard !fileOption.isEmpty else { throw VaultError.usage("--file needs a path") }
      return VaultLocation(path: fileOption)
    }
    if let fromEnvironment = environment["VAULT_FILE"], !fromEnvironment.isEmpty {
      return VaultLocation(path: fromEnvironment)
    }
    if let dataHome = environment["XDG_DATA_HOME"], dataHome.hasPrefix("/") {
      return VaultLocation(path: dataHome + "/llm-vault/vault.json", isDefault: true)
    }
    guard let home = environment["HOME"], !home.isEmpty else {
      throw VaultError.usage("no vault path: HOME is not set; pass --file PATH or set VAULT_FILE")
    }
    return VaultLocation(path: home + "/.local/share/llm-vault/vault.json", isDefault: true)
  }
}
