import VaultCore

enum VerifyCommand: Command {
  static let spec = CommandSpec(
    name: "verify", summary: "Unlock the vault and check every record and the whole-file MAC.")

  static func run(_ context: Context) throws {
    let unlocked = try context.store.unlock(passphrase: context.passphrase)
    for key in unlocked.document.keys {
      let value = try unlocked.keyring.open(key)
      guard SecretValue.masked(value) == key.masked else {
        throw VaultError.integrity("the masked form of \(key.name) does not match its value")
      }
    }
    let count = unlocked.document.keys.count
    Console.out(
      "ok: \(count) provider key\(count == 1 ? "" : "s") verified, generation \(unlocked.document.header.generation)\n")
  }
}
