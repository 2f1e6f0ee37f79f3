#if canImport(Glibc)
  import Glibc
#endif

/// When each agent key and provider key was last used, and how often. Runtime data that
/// changes on every use, so it lives beside the vault (`<vault>.state`), not in it: the vault
/// file stays stable and needs no passphrase to record a use. Not secret; not authenticated
/// (docs/SECURITY.md).
public struct UsageState: Equatable, Sendable {
  public struct Record: Equatable, Sendable {
    public var lastUsed: Timestamp
    public var uses: Int64
  }

  /// By agent key id.
  public var agents: [String: Record] = [:]
  /// By provider key record id.
  public var keys: [String: Record] = [:]

  public init() {}

  static func path(forVault vaultPath: String) -> String { vaultPath + ".state" }

  /// The state beside `vaultPath`; empty when there is none or it cannot be read (usage is a
  /// convenience, never a reason to fail).
  public static func read(forVault vaultPath: String) -> UsageState {
    guard let bytes = try? VaultFile.read(path(forVault: vaultPath)) else { return UsageState() }
    return (try? decode(bytes)) ?? UsageState()
  }

  /// Adds one use of `agentID` (if any) and of each of `keyIDs` at `now`, under
  /// `<vault>.state.lock`, so concurrent runs each count once.
  public static func recordUse(
    forVault vaultPath: String, agentID: String?, keyIDs: [RecordID], at now: Timestamp, lockTimeout: Double = 10
  ) throws {
    let lock = try FileLock(path: path(forVault: vaultPath) + ".lock", timeout: lockTimeout)
    try withExtendedLifetime(lock) {
      var state = read(forVault: vaultPath)
      func bump(_ record: inout Record?) {
        record = Record(lastUsed: now, uses: (record?.uses ?? 0) + 1)
      }
      if let agentID { bump(&state.agents[agentID]) }
      for id in keyIDs { bump(&state.keys[id.description]) }
      try VaultFile.replace(path(forVault: vaultPath), with: state.encoded(), durable: false)
    }
  }

  func encoded() -> [UInt8] {
    var writer = JSONWriter()
    writer.raw("{\"version\":1,\"agents\":")
    Self.write(agents, to: &writer)
    writer.raw(",\"keys\":")
    Self.write(keys, to: &writer)
    writer.raw("}\n")
    return writer.bytes
  }

  private static func write(_ records: [String: Record], to writer: inout JSONWriter) {
    writer.raw("{")
    for (index, id) in records.keys.sorted().enumerated() {
      if index > 0 { writer.raw(",") }
      writer.name(id)
      writer.raw("{\"lastUsed\":")
      writer.string(records[id]!.lastUsed.rfc3339)
      writer.raw(",\"uses\":")
      writer.integer(records[id]!.uses)
      writer.raw("}")
    }
    writer.raw("}")
  }

  static func decode(_ bytes: [UInt8]) throws -> UsageState {
    guard case .object(let root) = try JSONParser.parse(bytes), case .integer(1)? = root["version"] else {
      throw VaultError.integrity("unreadable state file")
    }
    var state = UsageState()
    state.agents = try records(root["agents"])
    state.keys = try records(root["keys"])
    return state
  }

  private static func records(_ value: JSONValue?) throws -> [String: Record] {
    guard case .object(let object)? = value else { throw VaultError.integrity("unreadable state file") }
    var records: [String: Record] = [:]
    for member in object.members {
      guard case .object(let fields) = member.value, case .string(let text)? = fields["lastUsed"],
        let lastUsed = Timestamp(rfc3339: text), case .integer(let uses)? = fields["uses"]
      else { throw VaultError.integrity("unreadable state file") }
      records[member.name] = Record(lastUsed: lastUsed, uses: uses)
    }
    return records
  }
}

extension VaultStore {
  /// The usage state beside this vault.
  public func usage() -> UsageState {
    UsageState.read(forVault: targetPath)
  }

  /// Records one use; see `UsageState.recordUse`.
  public func recordUse(agentID: String?, keyIDs: [RecordID], at now: Timestamp = .now()) throws {
    try UsageState.recordUse(forVault: targetPath, agentID: agentID, keyIDs: keyIDs, at: now, lockTimeout: lockTimeout)
  }
}
