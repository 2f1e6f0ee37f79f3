import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The highest generation this user has seen of each vault, by vault id, kept outside the
/// vault's directory (`$XDG_STATE_HOME/llm-vault/generations/<vault id>`, else
/// `~/.local/state/llm-vault/generations/<vault id>`), so restoring the vault's directory from
/// a backup does not restore it too. An older copy of the file is a valid vault in which
/// revoked agent keys work again; the file alone cannot tell, this record can
/// (docs/SECURITY.md, "Rollback"). Not secret; not authenticated; written atomically, 0600,
/// never through a symlink.
public struct GenerationRecords: Sendable {
  /// The directory holding one small file per vault id.
  public let directory: String

  public init(directory: String) {
    self.directory = directory
  }

  /// Where this user's records live, from the environment; nil without an absolute
  /// `XDG_STATE_HOME` or `HOME`.
  public static func forUser(environment: [String: String]) -> GenerationRecords? {
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
      return GenerationRecords(directory: state + "/llm-vault/generations")
    }
    guard let home = environment["HOME"], home.hasPrefix("/") else { return nil }
    return GenerationRecords(directory: home + "/.local/state/llm-vault/generations")
  }

  /// What was seen of one vault: its highest generation, and SHA-256 of the header line at that
  /// generation.
  public struct Seen: Equatable, Sendable {
    public var generation: UInt64
    public var headerDigest: [UInt8]
  }

  static let magic = "llm-vault-generation 1"

  func path(for vaultID: [UInt8]) -> String { directory + "/" + Hex.encode(vaultID) }

  /// The record of `vaultID`; nil when there is none or it is unreadable (then there is nothing
  /// to compare with, as on the first use).
  public func seen(vaultID: [UInt8]) -> Seen? {
    let descriptor = SystemCalls.open(path(for: vaultID), O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
    guard descriptor >= 0 else { return nil }
    defer { SystemCalls.close(descriptor) }
    guard let status = SystemCalls.fileStatus(descriptor), SystemCalls.isRegular(status),
      status.st_uid == geteuid(),
      case .success(let bytes) = SystemCalls.readAll(descriptor, limit: 256, expectedSize: Int(status.st_size))
    else { return nil }
    return Self.parse(bytes)
  }

  /// The record's text: the magic line, then `GENERATION HEX` (fields separated by one or more
  /// spaces, the generation a decimal of at least 1 with an optional `+`, HEX 64 lowercase
  /// digits), each line ending in LF; nil for anything else. Read as bytes: splitting it as
  /// strings cost every `vault run` about 80,000 instructions, mostly run-time generic metadata.
  static func parse(_ bytes: [UInt8]) -> Seen? {
    let magicLine = Array((magic + "\n").utf8)
    guard bytes.starts(with: magicLine), bytes.last == 0x0A else { return nil }
    // The second line, up to its LF (the last byte): no other LF passes the checks below.
    let end = bytes.count - 1
    var position = magicLine.count
    func skipSpaces() { while position < end, bytes[position] == 0x20 { position += 1 } }
    skipSpaces()
    if position < end, bytes[position] == UInt8(ascii: "+") { position += 1 }
    let digitsStart = position
    var generation: UInt64 = 0
    while position < end, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
      let (times10, overflow) = generation.multipliedReportingOverflow(by: 10)
      let (sum, carry) = times10.addingReportingOverflow(UInt64(bytes[position] - UInt8(ascii: "0")))
      guard !overflow, !carry else { return nil }
      generation = sum
      position += 1
    }
    guard position > digitsStart, generation >= 1, position < end, bytes[position] == 0x20 else { return nil }
    skipSpaces()
    let hexStart = position
    while position < end, bytes[position] != 0x20 { position += 1 }
    let hexEnd = position
    skipSpaces()
    guard position == end, hexEnd - hexStart == 64 else { return nil }
    var digest = [UInt8]()
    digest.reserveCapacity(32)
    for index in stride(from: hexStart, to: hexEnd, by: 2) {
      guard let high = Hex.lowercaseValue(bytes[index]), let low = Hex.lowercaseValue(bytes[index + 1]) else {
        return nil
      }
      digest.append(high << 4 | low)
    }
    return Seen(generation: generation, headerDigest: digest)
  }

  /// Records `seen` for `vaultID`: atomically (temporary file, fsync, rename), mode 0600, the
  /// directory created 0700. A raise leaves the directory unsynced (`.contents`): a power cut
  /// can then bring back the previous, lower record, never an empty one, which is what a crash
  /// between a save and its record leaves anyway, and the next authenticated read raises it
  /// again; the directory's fsync was 2 to 6 ms of every owner write. A lowering (`vault verify
  /// --accept-rollback`) is synced whole: nothing would lower the record again after a power cut
  /// brought the higher one back.
  public func record(_ seen: Seen, vaultID: [UInt8], lowering: Bool = false) throws {
    try SystemCalls.makeDirectories(directory)
    let text = "\(Self.magic)\n\(seen.generation) \(Hex.encode(seen.headerDigest))\n"
    try VaultFile.replace(path(for: vaultID), with: Array(text.utf8), durability: lowering ? .full : .contents)
  }
}

/// What a read found against the record: nothing to say, or an older copy.
public struct Rollback: Equatable, Sendable {
  /// The generation of the file read.
  public var found: UInt64
  /// The highest generation this user has seen of the vault.
  public var seen: UInt64
}

extension VaultStore {
  /// The file's generation against the record: a `Rollback` when it is lower than one seen.
  ///
  /// The record only ever holds a generation that was in the file before the record was
  /// written. A file read before another process saved and recorded a newer generation looks
  /// older than the record without being a rollback, so a lower generation is checked once
  /// more against the file as it is now, read after the record: lower still, it is an older
  /// copy.
  func rollback(of header: VaultHeader) -> Rollback? {
    guard let records = generationRecords, let seen = records.seen(vaultID: header.id),
      header.generation < seen.generation
    else { return nil }
    if let bytes = try? VaultFile.read(targetPath), let layout = try? VaultCodec.checkedLayout(bytes),
      let now = try? VaultCodec.decodeHeader(bytes, layout.header, version: layout.version), now.id == header.id,
      now.generation >= seen.generation
    {
      return nil
    }
    return Rollback(found: header.generation, seen: seen.generation)
  }

  /// Warns (through `warn`) when `header` is older than the record.
  func warnIfRolledBack(_ header: VaultHeader) {
    guard let rollback = rollback(of: header) else { return }
    warn?(
      "vault file is at generation \(rollback.found), older than generation \(rollback.seen) seen before: it may be an older copy, in which revoked agent keys work again; writes are refused until 'vault verify --accept-rollback'"
    )
  }

  /// Refuses to write to a file older than the record.
  func refuseIfRolledBack(_ header: VaultHeader) throws {
    if let rollback = rollback(of: header) { throw VaultError.rollback(found: rollback.found, seen: rollback.seen) }
  }

  /// Raises the record to a file whose MAC was just checked (or that was just written): only
  /// authenticated generations move it, so an edit that `list` cannot detect cannot move it.
  /// A failure to record is not the command's failure; it only weakens the next check.
  func noteAuthenticated(_ header: VaultHeader, headerDigest: [UInt8], lowering: Bool = false) {
    guard let records = generationRecords else { return }
    if !lowering, let seen = records.seen(vaultID: header.id), seen.generation >= header.generation { return }
    do {
      try records.record(
        .init(generation: header.generation, headerDigest: headerDigest), vaultID: header.id, lowering: lowering)
    } catch {
      warn?(
        "cannot record the vault's generation in \(records.directory): \((error as? VaultError)?.message ?? "\(error)")"
      )
    }
  }

  /// A wrong passphrase, unless the record shows the header was edited: at the generation last
  /// seen the header is fixed (every change to it is a save, which adds 1), so a different
  /// header at the same generation is an edit, and its KDF parameters or salt may be why the
  /// passphrase fails (docs/SECURITY.md, "KDF parameters from the file").
  func classifyingWrongPassphrase<Result>(
    _ header: VaultHeader, headerDigest: [UInt8], _ body: () throws -> Result
  ) throws -> Result {
    do {
      return try body()
    } catch VaultError.wrongPassphrase {
      if let seen = generationRecords?.seen(vaultID: header.id), seen.generation == header.generation,
        !constantTimeEquals(seen.headerDigest, headerDigest)
      {
        throw VaultError.integrity(
          "the header differs from the one opened before at generation \(header.generation): its KDF parameters, salt or master key were edited"
        )
      }
      throw VaultError.wrongPassphrase
    }
  }
}
