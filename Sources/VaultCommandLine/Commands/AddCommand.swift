import VaultCore

enum AddCommand: Command {
  static let spec = CommandSpec(
    name: "add",
    summary: "Store a new provider key.",
    arguments: [
      .init(name: "name", help: "The key's name, e.g. MY_API: letters, digits and _, not starting with a digit.")
    ],
    options: [
      .init(name: "provider", value: "<provider>", help: "The provider it belongs to, e.g. openai."),
      .init(name: "model", value: "<model>", repeatable: true, help: "A model it serves, e.g. gpt-4o."),
      .init(
        name: "env", value: "<variable>", repeatable: true,
        help: "A variable to inject it under instead of the provider's usual ones."),
    ],
    discussion: """
      The value is read from standard input when it is not a terminal (one trailing newline is
      dropped), otherwise from a no-echo prompt. Never pass a value as an argument.
        echo "$KEY" | vault add MY_API --provider openai --model gpt-4o
      """)

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    try Names.validateKeyName(name)
    let provider = try context.arguments.value("provider").map(Names.normalizedProvider)
    let store = context.store
    let credential = context.credential
    if Console.stdinIsTerminal {
      // At a terminal the passphrase comes first, checked, so a wrong one fails before a
      // secret is pasted. (It costs a second key derivation, only here; none in a session.)
      let locked = try store.read()
      if locked.document.index(of: name) != nil { throw VaultError.keyExists(name: name) }
      _ = try store.unlock(locked, credential: credential)
    }
    let value = try context.readValue(for: name)
    try store.update(credential: credential) { document, keyring in
      try document.addKey(
        name: name, value: value, provider: provider, models: context.arguments.values("model"),
        environmentNames: context.arguments.values("env"), keyring: keyring, now: .now())
    }
    Console.err("vault: added \(name)\n")
    for warning in KeyAdvice.warnings(name: name, provider: provider, value: value) { Console.warning(warning) }
  }
}
