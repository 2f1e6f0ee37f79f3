import VaultCore

enum GetCommand: Command {
  static let spec = CommandSpec(
    name: "get",
    summary: "Print a provider key's raw value, for scripts.",
    arguments: [.init(name: "name", help: "The key's name.")],
    options: [
      .init(
        name: "agent-key-file", value: "<file>",
        help: "Unlock with the agent key in this file instead of the passphrase.")
    ],
    discussion: """
      The value is printed exactly; a newline is added only when standard output is a terminal.
      With VAULT_AGENT_KEY (or --agent-key-file) the agent key alone reads a key inside its scope.
      """)

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    if SecretsForRun.usesAgentKey(context) {
      try Names.validateLookupName(name)
      let secrets = try SecretsForRun.load(
        context, selectors: KeySelectors(keys: [name]), decrypt: true, ownNamesOnly: true)
      guard let value = secrets.injection.keys.first?.value else {
        throw VaultError.keyNotFound(name: name)
      }
      value.withUnsafeBytes { Console.outRaw($0) }
      if Console.stdoutIsTerminal { Console.out("\n") }
      secrets.recordUse(context)
      return
    }
    // An unknown name fails before the passphrase is asked for.
    let value = try context.store.value(named: name, credential: context.credential)
    value.withUnsafeBytes { Console.outRaw($0) }
    if Console.stdoutIsTerminal { Console.out("\n") }
  }
}
