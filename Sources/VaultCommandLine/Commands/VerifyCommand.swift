import VaultCore

enum VerifyCommand: Command {
  static let spec = CommandSpec(
    name: "verify", summary: "Unlock the vault and check every record and the whole-file MAC.",
    options: [
      .init(
        name: "accept-rollback",
        help: "Accept this file although it is older than a generation seen before (a backup restored on purpose).")
    ],
    discussion: """
      vault remembers, per user, the highest generation it has seen of each vault. A file older
      than that is an older copy, in which agent keys revoked since work again: every read warns,
      every write is refused, and verify fails (exit 6) until --accept-rollback.
      """)

  static func run(_ context: Context) throws {
    let store = context.store
    let locked = try store.read(warningOfRollback: false)
    let unlocked = try store.unlock(locked, credential: context.credential)
    for key in unlocked.document.keys {
      // A name the injection policy refuses is readable (so it can be renamed) but breaks
      // get, env and run: verify says so (docs/FORMAT.md, the provider key's `name`).
      for (variable, what) in [(key.name, "is named")] + key.environmentNames.map({ ($0, "is injected under") }) {
        guard (try? Names.validateEnvironmentName(variable)) != nil else {
          throw VaultError.integrity(
            "provider key \(key.name) \(what) \(variable), a name vault refuses to inject; 'vault edit \(key.name) --name NEW' or '--clear-env' fixes it"
          )
        }
      }
      let value = try unlocked.keyring.open(key)
      guard SecretValue.masked(value) == key.masked else {
        throw VaultError.integrity("the masked form of \(key.name) does not match its value")
      }
    }
    if let rollback = store.rollback(of: locked) {
      guard context.arguments.flag("accept-rollback") else {
        throw VaultError.rollback(found: rollback.found, seen: rollback.seen)
      }
      store.acceptGeneration(of: locked, unlocked)
      Console.err(
        "vault: accepted generation \(rollback.found) (generation \(rollback.seen) was seen before); revoke again any agent key revoked since, and rotate the provider keys it could read\n"
      )
    }
    let count = unlocked.document.keys.count
    Console.out(
      "ok: \(count) provider key\(count == 1 ? "" : "s") verified, generation \(unlocked.document.header.generation)\n")
  }
}
