import VaultCore

enum GetCommand: Command {
  static let spec = CommandSpec(
    name: "get",
    summary: "Print a provider key's raw value, for scripts.",
    arguments: [.init(name: "name", help: "The key's name.")],
    discussion: "The value is printed exactly; a newline is added only when standard output is a terminal.")

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    // An unknown name fails before the passphrase is asked for.
    let value = try context.store.value(named: name, passphrase: context.passphrase)
    value.withUnsafeBytes { Console.outRaw($0) }
    if Console.stdoutIsTerminal { Console.out("\n") }
  }
}
