import VaultCore

enum RemoveCommand: Command {
  static let spec = CommandSpec(
    name: "rm", summary: "Delete a provider key, after confirmation.",
    arguments: [.init(name: "name", help: "The key's name.")],
    options: [.init(name: "yes", short: "y", help: "Do not ask; needed when there is no terminal.")])

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    let key = try context.store.read().document.key(named: name)
    try context.confirm(
      "Delete provider key \(name) (\(key.masked))? This cannot be undone.",
      refusal: "refusing to delete \(name) without confirmation")
    try context.store.update(credential: context.credential) { document, _ in
      try document.removeKey(name)
    }
    Console.err("vault: deleted \(name)\n")
  }
}
