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
        // Saturating: a state file edited to hold Int64.max must not crash a run.
        let uses = record?.uses ?? 0
        record = Record(lastUsed: now, uses: uses == .max ? .max : uses + 1)
      }
      if let agentID { bump(&state.agents[agentID]) }
      for id in keyIDs { bump(&state.keys[id.description]) }
      try VaultFile.replace(path(forVault: vaultPath), with: state.encoded(), durable: false)
    }
  }

  /// The state as text: a header line, then one line per record, `agent|key ID EPOCH USES`
  /// (seconds since 1970, use count). Plain lines, not JSON: `vault run` rewrites this file on
  /// every launch, for each of up to thousands of keys.
  func encoded() -> [UInt8] {
    var text = Self.header
    text.reserveCapacity(text.count + (agents.count + keys.count) * 64)
    for (kind, records) in [(Array("agent ".utf8), agents), (Array("key ".utf8), keys)] {
      for (id, record) in records.sorted(by: { $0.key < $1.key }) {
        text += kind
        text += id.utf8
        text.append(0x20)
        text += String(record.lastUsed.secondsSinceEpoch).utf8
        text.append(0x20)
        text += String(record.uses).utf8
        text.append(0x0A)
      }
    }
    return text
  }

  private static let header = Array("llm-vault-usage 1\n".utf8)

  static func decode(_ bytes: [UInt8]) throws -> UsageState {
    guard bytes.starts(with: header) else { throw VaultError.integrity("unreadable state file") }
    var state = UsageState()
    for line in bytes[header.count...].split(separator: 0x0A) {
      let fields = line.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
      guard fields.count == 4, RecordID(hex: fields[1]) != nil, let seconds = Int64(fields[2]),
        let uses = Int64(fields[3]),
        uses >= 0
      else { throw VaultError.integrity("unreadable state file") }
      let record = Record(lastUsed: Timestamp(secondsSinceEpoch: seconds), uses: uses)
      switch fields[0] {
      case "agent": state.agents[fields[1]] = record
      case "key": state.keys[fields[1]] = record
      default: throw VaultError.integrity("unreadable state file")
      }
    }
    return state
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
