import VaultCore

/// `vault merge-driver BASE OURS THEIRS [PATH]`: git's merge driver for a vault
/// (`merge.llm-vault.driver`, called with %O %A %B %P). Merges record by record
/// (`VaultMerge`), writes the result over OURS, exits 0 when clean and 1 on a conflict.
enum MergeDriverCommand: Command {
  static let spec = CommandSpec(
    name: "merge-driver",
    summary: "Merge three versions of a vault record by record (git's merge driver; see 'vault git-setup').",
    arguments: [
      .init(name: "base", help: "The common ancestor (git's %O)."),
      .init(name: "ours", help: "Your version (git's %A); the merged vault is written here."),
      .init(name: "theirs", help: "The other branch's version (git's %B)."),
      .init(name: "path", help: "The vault's path in the repository (git's %P), for messages.", optional: true),
    ],
    discussion: """
      Keys and agent keys added, removed or changed on one side merge; the same record changed
      differently on both sides is a conflict: each is named on one line (never a value), OURS
      gets your version of it (a valid vault), and the exit status is 1 so git marks the path as
      conflicted. Resolve with vault (edit, rm, agent-key ...), then 'git add' the file.
      Unlocks OURS and THEIRS with the unlock session, a member's identity or the passphrase, as
      every command does.
      A token revoked, expired or retired on either side stays so, and every provider key it
      could read on either side gets a new data key. Exit status: 0 merged, 1 conflict or
      versions of different vaults (OURS untouched), other codes as listed in the README.
      """)

  /// BASE's keyring when the credential opens one of its slots and its MAC verifies; nil when
  /// no slot opens (BASE predates this user's access); `integrity` when a slot opens and the
  /// MAC fails.
  private static func authenticatedIfOpenable(_ base: LockedVault, path: String, credential: VaultCredential) throws
    -> Keyring?
  {
    do {
      return try VaultStore(path: path).unlock(base, credential: credential).keyring
    } catch VaultError.integrity(let reason) {
      throw VaultError.integrity("the common version does not verify (\(reason)); refusing to merge against it")
    } catch {
      return nil
    }
  }

  static func run(_ context: Context) throws {
    let positionals = context.arguments.positionals
    let (basePath, oursPath, theirsPath) = (positionals[0], positionals[1], positionals[2])
    let shown = positionals.count > 3 ? DisplaySafety.sanitized(positionals[3]) : oursPath
    // git's temporary copies: read them as they are, and move no rollback record until the
    // merged file is written.
    func locked(_ path: String) throws -> LockedVault {
      try VaultStore(path: path).read(warningOfRollback: false)
    }
    let baseBytes = try VaultFile.read(basePath)
    guard !baseBytes.isEmpty else {
      throw VaultError.mergeRefused("\(shown) has no common version on the two sides (it was added on both)")
    }
    let base = try locked(basePath)
    let ours = try locked(oursPath)
    let theirs = try locked(theirsPath)
    let id = ours.document.header.id
    guard base.document.header.id == id, theirs.document.header.id == id else {
      throw VaultError.mergeRefused("the versions of \(shown) are not the same vault (their vault ids differ)")
    }
    // Writes only ever raise the generation, so along honest history no version is older than
    // the common ancestor. One that is was committed as an older copy (a rollback pushed by
    // someone who holds no key): merging it would bring back what was revoked or removed.
    let baseGeneration = base.document.header.generation
    for (side, version) in [("theirs", theirs), ("ours", ours)]
    where version.document.header.generation < baseGeneration {
      throw VaultError.integrity(
        "\(side) (generation \(version.document.header.generation)) is older than the common version (generation \(baseGeneration)): an older copy of \(shown) was committed; refusing to merge it"
      )
    }
    let credential = context.credential
    let oursOpen = try VaultStore(path: oursPath).unlock(ours, credential: credential)
    // A reader never writes, not even a merge.
    if case .member(let name, .reader) = oursOpen.access {
      throw VaultError.permissionDenied("member \(name) is a reader; only an owner changes the vault")
    }
    // THEIRS and BASE usually share OURS's master key: their MACs are checked with it, and the
    // passphrase is stretched again only when that fails.
    let theirsOpen =
      try (try? theirs.authenticated(with: oursOpen.keyring))
      ?? VaultStore(path: theirsPath).unlock(theirs, credential: credential)
    // BASE may predate this user's access: unopened, it is compared by metadata alone. A BASE
    // whose slot opens but whose MAC then fails is a forgery, and is refused.
    let baseKeyring =
      try (try? base.authenticated(with: oursOpen.keyring))?.keyring
      ?? (try? base.authenticated(with: theirsOpen.keyring))?.keyring
      ?? authenticatedIfOpenable(base, path: basePath, credential: credential)
    let result = try VaultMerge.merge(
      base: base.document, baseKeyring: baseKeyring, ours: oursOpen, theirs: theirsOpen, now: .now(),
      passphrase: { try credential.passphrase() })
    var store = context.store
    store = VaultStore(
      path: oursPath, lockTimeout: store.lockTimeout, generationRecords: store.generationRecords, warn: store.warn)
    try store.writeMerged(result)
    if !result.revokedAgents.isEmpty {
      Console.err(
        "vault: revoked agent keys \(result.revokedAgents.joined(separator: ", ")): issued under a master key a removed member holds; issue new ones with 'vault agent-key create'\n"
      )
    }
    if !result.rekeyed.isEmpty {
      Console.err(
        "vault: new data keys for \(result.rekeyed.joined(separator: ", ")): an agent key stopped on one side could read them\n"
      )
    }
    guard result.conflicts.isEmpty else {
      for conflict in result.conflicts { Console.err("vault: conflict: \(conflict)\n") }
      Console.err(
        "vault: hint: \(shown) holds your version of each; change it with vault if needed, then 'git add \(shown)'\n")
      Console.flushWarnings()
      throw ChildExit(code: 1)
    }
    Console.err("vault: merged \(shown) (generation \(result.document.header.generation))\n")
  }
}
