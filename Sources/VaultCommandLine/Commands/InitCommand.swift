import VaultCore

enum InitCommand: Command {
  static let spec = CommandSpec(
    name: "init",
    summary: "Create a new, empty vault.",
    options: [
      .init(
        name: "scrypt-log-n", value: "<n>",
        help: "scrypt cost as log2(N): 14 to 20 (default: 17). Below 17 is weaker; for tests and small devices.")
    ],
    discussion: """
      The passphrase is asked twice on the terminal, with no echo. For automation it is read from the
      file named by VAULT_PASSPHRASE_FILE, or from VAULT_PASSPHRASE; never from an argument.
      """)

  static func run(_ context: Context) throws {
    var logN = KDFSettings.defaultLogN
    if let text = context.arguments.value("scrypt-log-n") {
      guard let value = Int(text), (KDFSettings.minimumLogN...KDFSettings.maximumLogN).contains(value) else {
        throw VaultError.invalidInput(
          "--scrypt-log-n must be \(KDFSettings.minimumLogN) to \(KDFSettings.maximumLogN) (N=2^14 to 2^20)")
      }
      logN = value
    }
    let store = context.store
    // Refuse before asking for a passphrase that would be thrown away.
    _ = try store.creationTarget()
    let passphrase = try context.newPassphrase(forChange: false)
    if logN < KDFSettings.defaultLogN {
      Console.warning(
        "scrypt cost N=2^\(logN) is below the default 2^\(KDFSettings.defaultLogN): a stolen file is cheaper to attack")
    }
    try store.create(passphrase: passphrase, logN: logN, createDirectory: context.location.isDefault)
    Console.err("vault: created \(context.location.path)\n")
    warnIfShort(passphrase)
  }
}
