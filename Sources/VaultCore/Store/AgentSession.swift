#if canImport(Glibc)
  import Glibc
#endif

/// A vault opened with an agent key alone: no passphrase, no master key, and no MAC check
/// (the MAC key derives from the master key). What the agent reads is checked by its own
/// slot and grants (AES-GCM), and the file's checksum still catches accidental damage.
/// Only the header, the agent's own record and the provider keys it asks for are parsed.
public struct AgentSession: Sendable {
  public let header: VaultHeader
  public let keyring: AgentKeyring
  /// The file it was read from, links resolved (`VaultStore.targetPath`), so the use is recorded
  /// beside it without resolving the path again; nil when not read from a file.
  public internal(set) var vaultPath: String? = nil
  /// The identity of the bytes read (`VaultFile.readIdentified`), which the run cache is bound
  /// to; nil when not read from a file or when the file changed while it was read.
  public internal(set) var fileIdentity: FileIdentity? = nil
  /// SHA-256 of the file's second line (the header), which the run cache is bound to as well.
  public internal(set) var headerLineDigest: [UInt8]? = nil
  private let bytes: [UInt8]
  /// Every key line in file order, so listing keys in file order needs neither a sort nor a
  /// look-up per key.
  private let keyOrder: [(id: RecordID, range: Range<Int>)]
  /// Each id's position in `keyOrder`.
  private let keyIndex: [RecordID: Int]

  init(bytes: [UInt8], token: AgentToken, now: Timestamp) throws {
    let layout = try VaultCodec.checkedLayout(bytes)
    header = try VaultCodec.decodeHeader(bytes, layout.header, version: layout.version)
    // Find the agent by its token id without parsing every agent: only a line that holds the
    // quoted id can be it.
    let needle = Array("\"\(token.id)\"".utf8)
    var found: AgentKey? = nil
    for (index, range) in layout.agentLines.enumerated() where Self.contains(bytes, range, needle) {
      let agent = try VaultCodec.decodeAgent(bytes, range, index: index, version: layout.version)
      if agent.credentials.contains(where: { $0.id == token.id }) {
        found = agent
        break
      }
    }
    guard let agent = found else { throw VaultError.accessNotPermitted(.unknown) }
    keyring = try AgentKeyring(token: token, agent: agent, header: header, now: now)
    self.bytes = bytes
    // Every key line starts with {"id":"<32 hex>", so the index needs no parsing.
    var index: [RecordID: Int] = [:]
    var order: [(id: RecordID, range: Range<Int>)] = []
    // Sized once: growing a dictionary of a thousand ids rehashes every id at each doubling.
    index.reserveCapacity(layout.keyLines.count)
    order.reserveCapacity(layout.keyLines.count)
    var repeated = false
    let idStart = Array("{\"id\":\"".utf8).count
    bytes.withUnsafeBufferPointer { all in
      for range in layout.keyLines where range.count > idStart + 32 {
        let start = range.lowerBound + idStart
        if let id = RecordID(hexDigits: UnsafeBufferPointer(rebasing: all[start..<(start + 32)])) {
          if index.updateValue(order.count, forKey: id) != nil { repeated = true }
          order.append((id, range))
        }
      }
    }
    if repeated {
      // An id on two lines (damage) is read from its last line only, as the look-up by id reads it.
      order = order.enumerated().filter { index[$0.element.id] == $0.offset }.map(\.element)
      index = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element.id, $0.offset) })
    }
    keyOrder = order
    keyIndex = index
  }

  public var agent: AgentKey { keyring.agent }

  /// The provider keys with these ids, parsed from their lines; an id with no line is skipped.
  public func keys(_ ids: [RecordID]) throws -> [ProviderKey] {
    try decode(ids.compactMap { id in keyIndex[id].map { keyOrder[$0] } })
  }

  /// The keys on these lines, each checked to be the id its line was indexed under.
  private func decode(_ lines: [(id: RecordID, range: Range<Int>)]) throws -> [ProviderKey] {
    var keys: [ProviderKey] = []
    keys.reserveCapacity(lines.count)
    for (offset, line) in lines.enumerated() {
      let key = try VaultCodec.decodeKey(bytes, line.range, index: offset)
      guard key.id == line.id else { throw VaultError.integrity("provider key \(line.id) is not where its line says") }
      keys.append(key)
    }
    return keys
  }

  /// Every provider key's id and name (metadata only; values stay sealed), so a selector can
  /// tell a key outside the scope from one that does not exist.
  public func allKeyNames() throws -> [ProviderKey] {
    try decode(keyOrder)
  }

  /// The provider keys this token can read, in file order. A grant whose key has no line is
  /// damage (every write that removes a key drops its grants), not a key to skip silently.
  /// One look-up per grant, marking its line; the marked lines are then read in file order.
  public func grantedKeys() throws -> [ProviderKey] {
    let ids = keyring.grantedKeys
    var granted = [Bool](repeating: false, count: keyOrder.count)
    for id in ids {
      guard let position = keyIndex[id] else {
        throw VaultError.integrity("agent key \(agent.name) holds a grant of provider key \(id), which has no line")
      }
      granted[position] = true
    }
    var lines: [(id: RecordID, range: Range<Int>)] = []
    lines.reserveCapacity(ids.count)
    for (position, line) in keyOrder.enumerated() where granted[position] { lines.append(line) }
    return try decode(lines)
  }

  /// Whether `needle` occurs in `bytes[range]`: memchr for its first byte, then memcmp
  /// (glibc's memmem is not visible to Swift without _GNU_SOURCE).
  private static func contains(_ bytes: [UInt8], _ range: Range<Int>, _ needle: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
      needle.withUnsafeBytes { pattern in
        guard let base = buffer.baseAddress, let first = pattern.first else { return false }
        var start = range.lowerBound
        let last = range.upperBound - pattern.count
        while start <= last, let hit = memchr(base + start, Int32(first), last - start + 1) {
          let offset = UnsafeRawPointer(hit) - base
          if memcmp(base + offset, pattern.baseAddress!, pattern.count) == 0 { return true }
          start = offset + 1
        }
        return false
      }
    }
  }
}

extension VaultStore {
  /// Opens the vault with `token` alone.
  public func openAgent(token: AgentToken, now: Timestamp = .now()) throws -> AgentSession {
    let target = targetPath
    let (bytes, identity) = try VaultFile.readIdentified(target)
    var session = try AgentSession(bytes: bytes, token: token, now: now)
    session.vaultPath = target
    session.fileIdentity = identity
    session.headerLineDigest = RunCache.headerLineDigest(bytes.prefix(RunCache.headerSearchByteCount))
    warnIfRolledBack(session.header)
    return session
  }
}
