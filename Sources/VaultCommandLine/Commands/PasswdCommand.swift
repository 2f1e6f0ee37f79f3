import VaultCore

enum PasswdCommand: Command {
  static let spec = CommandSpec(
    name: "passwd", summary: "Change the passphrase (re-wraps the master key only).",
    options: [
      .init(
        name: "scrypt-log-n", value: "<n>",
        help: "A new scrypt cost as log2(N), 14 to 20 (default: keep the current one).")
    ],
    discussion: """
      The current passphrase comes from the usual places (VAULT_PASSPHRASE_FILE, VAULT_PASSPHRASE,
      the terminal); the new one from VAULT_NEW_PASSPHRASE_FILE or VAULT_NEW_PASSPHRASE, else it is
      asked twice on the terminal.
      """)

  static func run(_ context: Context) throws {
    var requestedLogN: Int? = nil
    if let text = context.arguments.value("scrypt-log-n") {
      guard let value = Int(text), (KDFSettings.minimumLogN...KDFSettings.maximumLogN).contains(value) else {
        throw VaultError.invalidInput("--scrypt-log-n must be \(KDFSettings.minimumLogN) to \(KDFSettings.maximumLogN)")
      }
      requestedLogN = value
    }
    let store = context.store
    // A team vault without a passphrase gets one from an owner's identity; otherwise the
    // current passphrase is proved first.
    var credential = context.credential
    credential.session = nil
    if try store.read().document.header.passphraseSlot != nil {
      let current = try context.passphrase()
      // Check the current passphrase before asking for a new one.
      _ = try store.unlock(passphrase: { current })
      credential = .passphrase({ current })
    } else {
      _ = try store.unlock(credential: credential)
    }
    let new = try context.newPassphrase(forChange: true)
    try store.update(credential: credential) { document, keyring in
      let logN =
        requestedLogN ?? document.header.passphraseSlot?.kdf.parameters.n.trailingZeroBitCount
        ?? KDFSettings.defaultLogN
      document.header = try keyring.rewrap(document.header, passphrase: new, logN: logN)
    }
    Console.err("vault: passphrase set\n")
    // Every session of the old passphrase stopped opening the file with this write (its binding
    // is the old wrapped key); the ones this process can reach are destroyed too.
    let header = try store.read(warningOfRollback: false).document.header
    if !UnlockSessions(environment: context.environment).end(vaultID: header.id).isEmpty {
      Console.err("vault: the unlock session ended; 'vault unlock' starts a new one\n")
    }
    warnIfShort(new)
  }
}
