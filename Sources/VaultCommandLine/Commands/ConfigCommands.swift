import VaultCore

/// The settings `vault config` knows, by the name the user types.
private enum Setting: String, CaseIterable {
  case agentKeyLimit = "agent-keys.limit"
}

enum ConfigGetCommand: Command {
  static let spec = CommandSpec(
    name: "config get", summary: "Print a vault setting.",
    arguments: [.init(name: "setting", help: "agent-keys.limit")])

  static func run(_ context: Context) throws {
    let setting = try parse(context.arguments.positionals[0])
    let settings = try context.store.read().document.header.settings
    switch setting {
    case .agentKeyLimit: Console.out("\(settings.agentKeyLimit)\n")
    }
  }
}

enum ConfigSetCommand: Command {
  static let spec = CommandSpec(
    name: "config set", summary: "Change a vault setting.",
    arguments: [.init(name: "setting", help: "agent-keys.limit"), .init(name: "value", help: "The new value.")])

  static func run(_ context: Context) throws {
    let setting = try parse(context.arguments.positionals[0])
    let text = context.arguments.positionals[1]
    switch setting {
    case .agentKeyLimit:
      guard let limit = Int(text), (0...VaultSettings.maximumAgentKeyLimit).contains(limit) else {
        throw VaultError.invalidInput("agent-keys.limit must be 0 to \(VaultSettings.maximumAgentKeyLimit)")
      }
      try context.store.update(passphrase: context.passphrase) { document, _ in
        document.header.settings.agentKeyLimit = limit
      }
      Console.err("vault: agent-keys.limit is now \(limit)\n")
    }
  }
}

private func parse(_ name: String) throws -> Setting {
  guard let setting = Setting(rawValue: name) else {
    throw VaultError.usage(
      "unknown setting '\(name)'; known: \(Setting.allCases.map(\.rawValue).joined(separator: ", "))")
  }
  return setting
}
