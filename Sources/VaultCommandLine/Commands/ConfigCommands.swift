import VaultCore
import VaultGateway

/// The settings `vault config` knows, by the name the user types.
private enum Setting {
  case agentKeyLimit
  /// `provider.<id>.base-url`
  case baseURL(provider: String)

  static let names = ["agent-keys.limit", "provider.<id>.base-url"]
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
    case .baseURL(let provider):
      Console.out(
        (settings.endpoint(for: provider) ?? GatewayProviders.provider(id: provider).defaultBaseURL ?? "none") + "\n")
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
      try context.store.update(credential: context.credential) { document, _ in
        document.header.settings.agentKeyLimit = limit
      }
      Console.err("vault: agent-keys.limit is now \(limit)\n")
    case .baseURL(let provider):
      let url: String? = text == "none" ? nil : text
      if let url, !EndpointURL.isValidBaseURL(url) {
        throw VaultError.invalidInput(
          "provider.\(provider).base-url must be https://HOST[:PORT][/PATH], or http:// to a loopback host, without query or trailing /"
        )
      }
      try context.store.update(credential: context.credential) { document, keyring in
        try document.setEndpoint(provider: provider, baseURL: url, keyring: keyring, now: .now())
      }
      Console.err("vault: provider.\(provider).base-url is now \(url ?? "the default")\n")
    }
  }
}

private func parse(_ name: String) throws -> Setting {
  if name == "agent-keys.limit" { return .agentKeyLimit }
  if name.hasPrefix("provider."), name.hasSuffix(".base-url") {
    let provider = String(name.dropFirst("provider.".count).dropLast(".base-url".count))
    guard Names.isProviderID(provider) else { throw VaultError.invalidInput("'\(provider)' is not a provider id") }
    return .baseURL(provider: provider)
  }
  let near = NearestName.nearest(to: name, among: Setting.names).map { "did you mean '\($0)'? " } ?? ""
  throw VaultError.invalidInput("unknown setting '\(name)'; \(near)known: \(Setting.names.joined(separator: ", "))")
}
