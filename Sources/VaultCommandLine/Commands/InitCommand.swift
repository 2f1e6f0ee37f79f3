import VaultCore

enum InitCommand: Command {
  static let spec = CommandSpec(
    name: "init",
    summary: "Create a new, empty vault.",
    options: [
      .init(
        name: "scrypt-log-n", value: "<n>",
        help: "scrypt cost as log2(N): 14 to 20 (default: 17). Below 17 is weaker; for tests and small devices."),
      .init(
        name: "member", value: "<name>",
        help: "A team vault with no passphrase: you are its first member (an owner), by your identity."),
    ],
    discussion: """
      The passphrase is asked twice on the terminal, with no echo. For automation it is read from the
      file named by VAULT_PASSPHRASE_FILE, or from VAULT_PASSPHRASE; never from an argument.
      """)

  static func run(_ context: Context) throws {
    if let member = context.arguments.value("member") { return try createForMembers(context, firstMember: member) }
    var logN = KDFSettings.defaultLogN
    if let text = context.arguments.value("scrypt-log-n") {
      let (low, high) = (KDFSettings.minimumLogN, KDFSettings.maximumLogN)
      guard let value = Int(text), (low...high).contains(value) else {
        throw VaultError.invalidInput("--scrypt-log-n must be \(low) to \(high) (N=2^\(low) to 2^\(high))")
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

  /// `vault init --member NAME`: the vault opens only with members' identities.
  private static func createForMembers(_ context: Context, firstMember name: String) throws {
    try Names.validateMemberName(name)
    guard context.arguments.value("scrypt-log-n") == nil else {
      throw VaultError.usage("--scrypt-log-n sets the passphrase's cost; a vault made with --member has no passphrase")
    }
    let store = context.store
    _ = try store.creationTarget()
    guard let identity = try context.identityFiles.load().first else {
      throw VaultError.usage(
        "--member needs your identity: 'vault identity new' creates one, or name a file with --identity")
    }
    try store.createForMembers(
      firstMember: name, recipient: identity.identity.recipient,
      addedBy: AgentKeyCommands.currentUser(context.environment), createDirectory: context.location.isDefault)
    Console.err(
      "vault: created \(context.location.path) for members; \(name) (owner) opens it with \(identity.source)\n")
  }
}
