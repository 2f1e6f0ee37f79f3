import VaultCore

enum GetCommand: Command {
  static let spec = CommandSpec(
    name: "get",
    summary: "Print a provider key's raw value, for scripts.",
    arguments: [.init(name: "name", help: "The key's name.")],
    discussion: "The value is printed exactly; a newline is added only when standard output is a terminal.")

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    let locked = try context.store.read()
    // Fail on an unknown name before asking for the passphrase.
    _ = try locked.document.key(named: name)
    let unlocked = try context.store.unlock(locked, passphrase: context.passphrase)
    let value = try unlocked.keyring.open(try unlocked.document.key(named: name))
    value.withUnsafeBytes { Console.outRaw($0) }
    if Console.stdoutIsTerminal { Console.out("\n") }
  }
}
