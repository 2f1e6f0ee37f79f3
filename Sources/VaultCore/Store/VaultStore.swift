import VaultCrypto

/// A vault file read without a key: its metadata is usable, its MAC not yet checked.
public struct LockedVault: Sendable {
  public var bytes: [UInt8]
  public var decoded: VaultCodec.Decoded
  public var document: VaultDocument { decoded.document }
  /// SHA-256 of the header line, for the rollback record.
  var headerDigest: [UInt8] { decoded.headerDigest }
}

/// A vault file read and decoded while its credential was stretched
/// (`VaultStore.readStretching`): what is left to unlock it is opening the master key.
public struct StretchedVault {
  public let locked: LockedVault
  let opener: HeaderOpener
}

/// A vault file whose master key is open and whose MAC has been checked.
public struct UnlockedVault: Sendable {
  public var document: VaultDocument
  public var keyring: Keyring
  /// The way in that opened it: the passphrase, or a member (also through a session).
  public var access: VaultAccess = .passphrase
}

/// The vault at one path: read it, unlock it, or change it under the write lock.
public struct VaultStore: Sendable {
  /// The path as the user gave it (for messages).
  public let path: String
  /// How long a writer waits for another writer before giving up with `busy`.
  public var lockTimeout: Double
  /// The highest generation this user has seen of each vault; nil checks nothing
  /// (docs/SECURITY.md, "Rollback").
  public var generationRecords: GenerationRecords?
  /// Where warnings go (this layer prints nothing): an older copy read, a record not written.
  public var warn: (@Sendable (String) -> Void)?

  public init(
    path: String, lockTimeout: Double = 10, generationRecords: GenerationRecords? = nil,
    warn: (@Sendable (String) -> Void)? = nil
  ) {
    self.path = path
    self.lockTimeout = lockTimeout
    self.generationRecords = generationRecords
    self.warn = warn
  }

  /// The file actually written: the user's symlink is followed so a save replaces its target,
  /// not the link.
  public var targetPath: String { SystemCalls.realPath(path) ?? path }
  var lockPath: String { targetPath + ".lock" }

  /// Reads and decodes the file: everything `list`, `search` and `show` need. Warns when the
  /// file is older than a generation seen before (unless `warningOfRollback` is false).
  public func read(warningOfRollback: Bool = true) throws -> LockedVault {
    let bytes = try VaultFile.read(targetPath)
    let locked = LockedVault(bytes: bytes, decoded: try VaultCodec.decode(bytes))
    if warningOfRollback { warnIfRolledBack(locked.document.header) }
    return locked
  }

  /// Whether the file read is older than a generation this user has seen.
  public func rollback(of locked: LockedVault) -> Rollback? {
    rollback(of: locked.document.header)
  }

  /// Accepts an older copy the owner restored on purpose: the record is set to this file's
  /// generation, whose MAC `unlocked` has checked (`vault verify --accept-rollback`).
  public func acceptGeneration(of locked: LockedVault, _ unlocked: UnlockedVault) {
    noteAuthenticated(unlocked.document.header, headerDigest: locked.headerDigest, lowering: true)
  }

  /// Reads, unlocks and checks the whole-file MAC.
  public func unlock(credential: VaultCredential) throws -> UnlockedVault {
    try unlock(try read(), credential: credential)
  }

  /// Unlocks a file already read, so a command that looked at the metadata first reads once.
  public func unlock(_ locked: LockedVault, credential: VaultCredential) throws -> UnlockedVault {
    try unlock(
      locked, with: try HeaderOpener(credential, header: locked.document.header, members: locked.document.members))
  }

  /// Opens the master key of a file already read with a stretched credential, checks the MAC,
  /// and records the generation seen.
  private func unlock(_ locked: LockedVault, with opener: HeaderOpener) throws -> UnlockedVault {
    let unlocked = try classifyingWrongPassphrase(locked.document.header, headerDigest: locked.headerDigest) {
      try open(locked, with: opener)
    }
    noteAuthenticated(unlocked.document.header, headerDigest: locked.headerDigest)
    return unlocked
  }

  /// Reads and decodes the file while this thread stretches the credential (scrypt), when the
  /// credential asks nobody (`VAULT_PASSPHRASE_FILE`, `VAULT_PASSPHRASE`): `vault run` with the
  /// passphrase over a thousand keys spent its time beyond scrypt mostly parsing, which now runs
  /// on a second thread beside it, as in `update`. Nil when the credential may ask a person:
  /// every record is then checked before anyone types (`read`, then `unlock`). Damage in the
  /// file is reported before anything the credential throws; a wrong passphrase is found by
  /// `unlock(_:)`, so a command can still look at the records (and refuse a selection) first.
  public func readStretching(_ credential: VaultCredential) throws -> StretchedVault? {
    guard !credential.mayAskAPerson else { return nil }
    let read = try VaultCodec.decode(try VaultFile.Opened(targetPath)) { header, members in
      try HeaderOpener(credential, header: header, members: members)
    } afterwards: { _, _ in
      HKDF.prepare()
    }
    let locked = LockedVault(bytes: read.bytes, decoded: read.decoded)
    let opener = read.value
    warnIfRolledBack(locked.document.header)
    return StretchedVault(locked: locked, opener: opener)
  }

  /// Unlocks a file `readStretching` read, and checks the whole-file MAC.
  public func unlock(_ stretched: StretchedVault) throws -> UnlockedVault {
    try unlock(stretched.locked, with: stretched.opener)
  }

  /// Reads and unlocks with the passphrase alone, never a session.
  public func unlock(passphrase: @escaping () throws -> SecretBytes) throws -> UnlockedVault {
    try unlock(try read(), credential: .passphrase(passphrase))
  }

  /// Unlocks with the passphrase alone, never a session.
  public func unlock(_ locked: LockedVault, passphrase: @escaping () throws -> SecretBytes) throws -> UnlockedVault {
    try unlock(locked, credential: .passphrase(passphrase))
  }

  /// Opens the master key and checks the MAC with it: a session's key is trusted no more than
  /// a passphrase's, and a file edited since the session began fails here.
  private func open(_ locked: LockedVault, with opener: HeaderOpener) throws -> UnlockedVault {
    let keyring = try opener.keyring(for: locked.document.header)
    try VaultCodec.verifyMAC(locked.decoded, keyring: keyring)
    return UnlockedVault(document: locked.document, keyring: keyring, access: opener.access)
  }

  /// Where `vault init` will write: the path itself, or the target of a symlink the user made
  /// that points at no file yet. Refuses when a vault, a directory or any other file is there.
  public func creationTarget() throws -> String {
    guard let link = SystemCalls.pathStatus(path, followLinks: false) else { return path }
    if SystemCalls.isSymbolicLink(link), SystemCalls.pathStatus(path) == nil {
      guard let target = SystemCalls.linkTarget(path) else { throw SystemCalls.ioError("read the link", path) }
      return target.hasPrefix("/") ? target : SystemCalls.directory(of: path) + "/" + target
    }
    guard let status = SystemCalls.pathStatus(path) else { return path }
    if SystemCalls.isRegular(status) { throw VaultError.vaultExists(path: path) }
    try VaultFile.checkSafe(status, path: path)
    throw VaultError.vaultExists(path: path)
  }

  /// Creates a new vault; refuses when a file is already there.
  public func create(passphrase: SecretBytes, logN: Int, createDirectory: Bool) throws {
    let target = try creationTarget()
    let directory = SystemCalls.directory(of: target)
    if createDirectory || SystemCalls.pathStatus(directory) == nil { try SystemCalls.makeDirectories(directory) }
    let (keyring, header) = try Keyring.create(passphrase: passphrase, logN: logN, now: Timestamp.now())
    var document = VaultDocument(header: header, keys: [])
    document.header.generation = 1
    let lock = try FileLock(path: target + ".lock", timeout: lockTimeout)
    try withExtendedLifetime(lock) {
      let bytes = VaultCodec.encode(document, keyring: keyring)
      try VaultFile.create(target, with: bytes)
      noteAuthenticated(document.header, headerDigest: try VaultCodec.headerDigest(bytes))
    }
  }

  /// Creates a team vault without a passphrase: its first member, an owner, opens it with the
  /// identity whose recipient is `recipient`.
  public func createForMembers(
    firstMember name: String, recipient: AgeRecipient, addedBy: String, createDirectory: Bool
  ) throws {
    let target = try creationTarget()
    let directory = SystemCalls.directory(of: target)
    if createDirectory || SystemCalls.pathStatus(directory) == nil { try SystemCalls.makeDirectories(directory) }
    let now = Timestamp.now()
    let (keyring, header) = try Keyring.createForMembers(now: now)
    var document = VaultDocument(header: header, keys: [])
    try document.addMember(name: name, recipient: recipient, role: .owner, addedBy: addedBy, keyring: keyring, now: now)
    document.header.generation = 1
    let lock = try FileLock(path: target + ".lock", timeout: lockTimeout)
    try withExtendedLifetime(lock) {
      let bytes = VaultCodec.encode(document, keyring: keyring)
      try VaultFile.create(target, with: bytes)
      noteAuthenticated(document.header, headerDigest: try VaultCodec.headerDigest(bytes))
    }
  }

  /// Unlocks the vault and applies `change` under the write lock, then saves durably. The
  /// passphrase is stretched before the lock is taken (scrypt takes most of a second), so
  /// writers queue only for the short read-modify-write. If `change` throws, nothing is written.
  @discardableResult
  public func update<Result>(
    credential: VaultCredential, _ change: (inout VaultDocument, Keyring) throws -> Result
  ) throws -> Result {
    try updateRekeying(credential: credential) { document, keyring, _ in (try change(&document, keyring), keyring) }
  }

  /// `update` for a change that may replace the master key (removing a member): `change` gets
  /// the passphrase when the opener was the passphrase (else it asks for it through the
  /// credential), and returns the keyring the file is written with.
  @discardableResult
  public func updateRekeying<Result>(
    credential: VaultCredential,
    _ change: (inout VaultDocument, Keyring, _ passphrase: () throws -> SecretBytes?) throws -> (Result, Keyring)
  ) throws -> Result {
    let (result, leftovers) = try updateLeavingWhatItRead(credential: credential, change)
    SaveLeftovers.release(consume leftovers)
    return result
  }

  /// `updateRekeying`, and what the save read and wrote, for `SaveLeftovers` to free: every
  /// other reference to them ends when this returns.
  private func updateLeavingWhatItRead<Result>(
    credential: VaultCredential,
    _ change: (inout VaultDocument, Keyring, _ passphrase: () throws -> SecretBytes?) throws -> (Result, Keyring)
  ) throws -> (Result, SaveLeftovers) {
    func opener(header: VaultHeader, members: [Member]) throws -> HeaderOpener {
      // An older copy is refused before the passphrase is asked for: a write to it would give a
      // new key to every agent key revoked since the copy was taken.
      try refuseIfRolledBack(header)
      let opener = try HeaderOpener(credential, header: header, members: members)
      try refuseIfReader(opener.access)
      return opener
    }
    let bytes: [UInt8]
    let (decoded, opened): (VaultCodec.Decoded, HeaderOpener)
    let prepared: PreparedReplacement?
    if credential.mayAskAPerson {
      // Every record is checked before anyone is asked to type a passphrase.
      bytes = try VaultFile.read(targetPath)
      decoded = try VaultCodec.decode(bytes)
      opened = try opener(header: decoded.document.header, members: decoded.document.members)
      prepared = nil
    } else {
      // The file is read and its records parsed on a second thread while this one stretches
      // the passphrase: in a vault of 10,000 keys each takes tens of milliseconds. Damage still
      // comes first. Then that thread begins the save's temporary file with what the new file
      // most likely begins with, and syncs it, which a vault of 10,000 keys would otherwise do
      // after. It also readies HKDF and OpenSSL's random generator, which every write uses (a new
      // key's id, data key and nonces; the agents' grants) and whose first use costs 3 M
      // instructions.
      let target = targetPath
      (bytes, decoded, opened, prepared) = try VaultCodec.decode(try VaultFile.Opened(targetPath), meanwhile: opener) {
        bytes, layout in
        defer {
          HKDF.prepare()
          SecureRandom.prepare()
        }
        return VaultCodec.likelyOpening(ofSaveOf: bytes, layout).flatMap {
          PreparedReplacement.begin(target, writing: $0)
        }
      }
    }
    let before = LockedVault(bytes: bytes, decoded: decoded)
    var opener = opened
    let lock = try FileLock(path: lockPath, timeout: lockTimeout)
    return try withExtendedLifetime(lock) {
      // Under the lock, read again: another writer may have saved since. Unchanged bytes (the
      // usual case) reuse the first parse, which is most of a large vault's cost.
      let current =
        try VaultFile.read(targetPath, unlessStill: before.bytes).map {
          LockedVault(bytes: $0, decoded: try VaultCodec.decode($0))
        } ?? before
      // Another process may have changed the passphrase or the members meanwhile.
      opener = try opener.refreshed(for: current.document.header, members: current.document.members, credential)
      try refuseIfReader(opener.access)
      try refuseIfRolledBack(current.document.header)
      let unlocked = try classifyingWrongPassphrase(current.document.header, headerDigest: current.headerDigest) {
        try open(current, with: opener)
      }
      var document = unlocked.document
      let held = opener.passphrase
      let (result, keyring) = try change(&document, unlocked.keyring) { try held ?? credential.passphrase() }
      // Every owner write purges stopped agent slots and re-grants live scopes.
      try document.maintainAgents(keyring: keyring, now: .now())
      document.header.generation += 1
      VaultFile.removeStaleTemporaries(for: targetPath)
      // Unchanged keys are written straight from the bytes read under the lock.
      let written = VaultCodec.encodedFile(
        document, keyring: keyring, reusingLinesOf: current.bytes, continuing: prepared?.prefix)
      try VaultFile.replace(targetPath, with: written.pieces, continuing: prepared)
      noteAuthenticated(document.header, headerDigest: written.headerDigest)
      return (
        result,
        SaveLeftovers(
          files: [before, current], documents: [unlocked.document, document], pieces: written.pieces)
      )
    }
  }

  private func refuseIfReader(_ access: VaultAccess) throws {
    guard !access.mayWrite, case .member(let name, _) = access else { return }
    throw VaultError.permissionDenied("member \(name) is a reader; only an owner changes the vault")
  }

  /// `update` with the passphrase alone, never a session (`vault passwd`).
  @discardableResult
  public func update<Result>(
    passphrase: @escaping () throws -> SecretBytes, _ change: (inout VaultDocument, Keyring) throws -> Result
  ) throws -> Result {
    try update(credential: .passphrase(passphrase), change)
  }
}

extension VaultStore {
  /// One provider key's value, reading only what it needs: the layout, the checksum, the
  /// header and that key's line; the MAC still covers the whole file. `vault get` in a vault of
  /// 10,000 keys then costs the KDF plus one line, not a parse of every record. When nobody
  /// will be asked for the passphrase, the checksum (a SHA-256 of the whole file) and the search
  /// for the line run on a second thread while scrypt runs, as in `readStretching`; damage is
  /// still reported first, and a name not in the file before a wrong passphrase.
  public func value(named name: String, credential: VaultCredential) throws -> SecretBytes {
    try Names.validateLookupName(name)
    let bytes: [UInt8]
    let layout: VaultFileLayout
    let header: VaultHeader
    let line: (index: Int, range: Range<Int>)?
    let opener: HeaderOpener
    if credential.mayAskAPerson {
      // A missing name and a damaged file are reported before anyone is asked to type.
      bytes = try VaultFile.read(targetPath)
      layout = try VaultCodec.checkedLayout(bytes)
      header = try VaultCodec.decodeHeader(bytes, layout.header, version: layout.version)
      warnIfRolledBack(header)
      line = layout.keyLine(named: name, in: bytes)
      guard line != nil else { throw VaultError.keyNotFound(name: name) }
      let members = try VaultCodec.decodeMembers(bytes, layout, of: header)
      opener = try HeaderOpener(credential, header: header, members: members)
    } else {
      let read = try VaultCodec.checkedLayout(try VaultFile.Opened(targetPath)) { header, members in
        try HeaderOpener(credential, header: header, members: members)
      } records: { bytes, layout in
        defer { HKDF.prepare() }
        return layout.keyLine(named: name, in: bytes)
      }
      (bytes, layout, header, line, opener) = (read.bytes, read.layout, read.header, read.records, read.value)
      warnIfRolledBack(header)
    }
    guard let (index, range) = line else { throw VaultError.keyNotFound(name: name) }
    let headerDigest = SHA256.hash(bytes[layout.header])
    let keyring = try classifyingWrongPassphrase(header, headerDigest: headerDigest) {
      try opener.keyring(for: header)
    }
    try VaultCodec.verifyMAC(checksum: layout.checksum, mac: layout.mac, keyring: keyring)
    noteAuthenticated(header, headerDigest: headerDigest)
    let key = try VaultCodec.decodeKey(bytes, range, index: index)
    guard key.name == name else { throw VaultError.integrity("keys[\(index)] is not the key its line names") }
    return try keyring.open(key)
  }

  /// `value(named:credential:)` with the passphrase alone.
  public func value(named name: String, passphrase: @escaping () throws -> SecretBytes) throws -> SecretBytes {
    try value(named: name, credential: .passphrase(passphrase))
  }
}

extension LockedVault {
  /// This file authenticated with a keyring already open for another version of the same vault:
  /// its MAC checked under that master key, no KDF run. A merge opens THEIRS and BASE this way
  /// when they share OURS's master key, so the passphrase is stretched once, not three times.
  public func authenticated(with keyring: Keyring) throws -> UnlockedVault {
    guard keyring.vaultID == document.header.id else {
      throw VaultError.integrity("the keyring is not this vault's")
    }
    try VaultCodec.verifyMAC(decoded, keyring: keyring)
    return UnlockedVault(document: document, keyring: keyring)
  }
}

extension VaultStore {
  /// Writes a merge's result over this path (git's %A, a temporary copy git made), atomically
  /// and with mode 0600 as every save, and raises the rollback record to it. The bytes are read
  /// back through the decoder and the MAC first, so a merge never leaves a file `vault` would
  /// refuse. No lock file is taken: git runs one driver per path, and a `.lock` beside git's
  /// temporary copy would be left in the work tree.
  public func writeMerged(_ result: MergeResult) throws {
    let written = VaultCodec.encode(result.document, keyring: result.keyring)
    try VaultCodec.verifyMAC(try VaultCodec.decode(written), keyring: result.keyring)
    try VaultFile.replace(targetPath, with: written)
    noteAuthenticated(result.document.header, headerDigest: try VaultCodec.headerDigest(written))
  }
}
