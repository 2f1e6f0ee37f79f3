#if canImport(Glibc)
  import Glibc
#endif

/// When each agent key and provider key was last used, how often, and what the gateway served
/// for it. Runtime data that changes on every use, so it lives beside the vault
/// (`<vault>.state`), not in it: the vault file stays stable and needs no passphrase to record
/// a use. Not secret; not authenticated (docs/SECURITY.md).
public struct UsageState: Equatable, Sendable {
  public struct Record: Equatable, Sendable {
    public var lastUsed: Timestamp
    /// Unlocks by `run`, `env` and `inject`.
    public var uses: Int64
    /// What the gateway served.
    public var gateway = GatewayCounts()
    /// The UTC day (days since 1970) the two daily counters below belong to.
    public var day: Int64 = 0
    public var dayRequests: Int64 = 0
    public var dayTokens: Int64 = 0

    public init(lastUsed: Timestamp, uses: Int64) {
      self.lastUsed = lastUsed
      self.uses = uses
    }

    /// Today's requests and tokens (zero when the record's day is over).
    public func daily(on day: Int64) -> (requests: Int64, tokens: Int64) {
      self.day == day ? (dayRequests, dayTokens) : (0, 0)
    }

    /// Adds the gateway's counts of one batch, saturating: a state file edited to hold huge
    /// numbers must not crash the gateway or a run.
    mutating func add(_ delta: GatewayUsageDelta) {
      lastUsed = max(lastUsed, delta.lastUsed)
      gateway.add(delta.counts)
      if day != delta.day {
        if delta.day < day { return }
        day = delta.day
        dayRequests = 0
        dayTokens = 0
      }
      dayRequests = GatewayCounts.sum(dayRequests, delta.counts.requests)
      dayTokens = GatewayCounts.sum(dayTokens, GatewayCounts.sum(delta.counts.tokensIn, delta.counts.tokensOut))
    }
  }

  /// By agent key id.
  public var agents: [String: Record] = [:]
  /// By provider key record id.
  public var keys: [String: Record] = [:]

  public init() {}

  /// The largest state file read: about 80,000 records. A larger one is set aside, so no
  /// state file can make `vault run` slow (docs/SECURITY.md).
  public static let maximumByteCount = 8 << 20

  static func path(forVault vaultPath: String) -> String { vaultPath + ".state" }

  /// The state beside `vaultPath`; empty when there is none or it cannot be read (usage is a
  /// convenience, never a reason to fail).
  public static func read(forVault vaultPath: String) -> UsageState {
    load(forVault: vaultPath).state
  }

  /// The state and, when the file exists but cannot be used (damaged, too large, a link), why.
  static func load(forVault vaultPath: String) -> (state: UsageState, problem: String?) {
    let path = path(forVault: vaultPath)
    let bytes: [UInt8]
    do {
      bytes = try VaultFile.read(path, limit: maximumByteCount, followLinks: false)
    } catch VaultError.vaultNotFound {
      return (UsageState(), nil)
    } catch {
      return (UsageState(), "the usage state file \(path) cannot be read")
    }
    guard let state = try? decode(bytes) else { return (UsageState(), "the usage state file \(path) is damaged") }
    return (state, nil)
  }

  /// Adds one use of `agentID` (if any) and of each of `keyIDs` at `now`, under
  /// `<vault>.state.lock`, so concurrent runs each count once. Returns a warning when an
  /// unusable state file was set aside (renamed to `<vault>.state.bad`) and counting began anew.
  @discardableResult
  public static func recordUse(
    forVault vaultPath: String, agentID: String?, keyIDs: [RecordID], at now: Timestamp, lockTimeout: Double = 10
  ) throws -> String? {
    let agent = agentID.map { RecordID(hex: $0) }
    // The common case, a file as this code writes it, is updated from bytes to bytes.
    let fast = { (bytes: [UInt8]) -> [UInt8]? in
      if case .some(nil) = agent { return nil }
      return UsageStateScanner.recordingUse(
        in: bytes, agentID: agent ?? nil, keyIDs: keyIDs, now: now.secondsSinceEpoch)
    }
    return try update(forVault: vaultPath, lockTimeout: lockTimeout, fast: fast) { state in
      func bump(_ record: inout Record?) {
        // Saturating: a state file edited to hold Int64.max must not crash a run.
        let uses = record?.uses ?? 0
        if record == nil { record = Record(lastUsed: now, uses: 0) }
        record?.lastUsed = now
        record?.uses = uses == .max ? .max : uses + 1
      }
      if let agentID { bump(&state.agents[agentID]) }
      for id in keyIDs { bump(&state.keys[id.description]) }
    }
  }

  /// Adds the gateway's batch of counts (by agent id and by provider key id).
  @discardableResult
  public static func add(
    forVault vaultPath: String, agents: [String: GatewayUsageDelta], keys: [String: GatewayUsageDelta],
    lockTimeout: Double = 10
  ) throws -> String? {
    try update(forVault: vaultPath, lockTimeout: lockTimeout) { state in
      for (id, delta) in agents { state.agents[id, default: Record(lastUsed: delta.lastUsed, uses: 0)].add(delta) }
      for (id, delta) in keys { state.keys[id, default: Record(lastUsed: delta.lastUsed, uses: 0)].add(delta) }
    }
  }

  /// Read, change and atomically replace the state under its lock. The replacement is not
  /// fsynced: losing the last counts to a power cut is acceptable, a torn file is not, and
  /// rename(2) gives the old or the new file.
  /// `fast`, when it returns bytes, does the same change without a parse (a missing file is
  /// passed as the bare header); otherwise the file is parsed and `change` applied.
  private static func update(
    forVault vaultPath: String, lockTimeout: Double, fast: ([UInt8]) -> [UInt8]? = { _ in nil },
    _ change: (inout UsageState) -> Void
  ) throws -> String? {
    let path = path(forVault: vaultPath)
    let lock = try FileLock(path: path + ".lock", timeout: lockTimeout)
    return try withExtendedLifetime(lock) {
      // `try?` would flatten "no file" (nil) into "unreadable": keep the two apart.
      let present: [UInt8]??
      do { present = .some(try readIfPresent(path)) } catch { present = nil }
      if let read = present, let updated = fast(read ?? header) {
        try VaultFile.replace(path, with: updated, durable: false)
        return nil
      }
      var (state, problem) = load(forVault: vaultPath)
      // Only a file or a link is set aside; anything else there (a directory) makes the write
      // below fail, which the caller reports as a warning.
      if problem != nil, let status = SystemCalls.pathStatus(path, followLinks: false),
        SystemCalls.isRegular(status) || SystemCalls.isSymbolicLink(status)
      {
        _ = path.withCString { from in (path + ".bad").withCString { rename(from, $0) } }
      } else {
        problem = nil
      }
      change(&state)
      try VaultFile.replace(path, with: state.encoded(), durable: false)
      return problem.map { "\($0); set aside as \(path).bad, counting anew" }
    }
  }

  /// The file's bytes; nil when there is none. Throws when it cannot be read or is not a
  /// regular file within `maximumByteCount`.
  private static func readIfPresent(_ path: String) throws -> [UInt8]? {
    do {
      return try VaultFile.read(path, limit: maximumByteCount, followLinks: false)
    } catch VaultError.vaultNotFound {
      return nil
    }
  }

  /// The state as text: a header line, then one line per record, `agent|key ID` and eleven
  /// numbers (docs/FORMAT.md, "Files beside the vault"). Plain lines, not JSON: `vault run`
  /// rewrites this file on every launch, for each of up to thousands of keys (through
  /// `UsageStateScanner`, which reads and writes exactly this form).
  func encoded() -> [UInt8] {
    var text = Self.header
    text.reserveCapacity(text.count + (agents.count + keys.count) * 96)
    for (kind, records) in [(Array("agent ".utf8), agents), (Array("key ".utf8), keys)] {
      for (id, record) in records.sorted(by: { $0.key < $1.key }) {
        text += kind
        text += id.utf8
        let gateway = record.gateway
        for number in [
          record.lastUsed.secondsSinceEpoch, record.uses, gateway.requests, gateway.succeeded, gateway.clientErrors,
          gateway.serverErrors, gateway.tokensIn, gateway.tokensOut, record.day, record.dayRequests, record.dayTokens,
        ] {
          text.append(0x20)
          text += String(number).utf8
        }
        text.append(0x0A)
      }
    }
    return text
  }

  private static let header = Array("llm-vault-usage 2\n".utf8)
  private static let headerVersion1 = Array("llm-vault-usage 1\n".utf8)

  /// Reads version 2, and version 1 (`agent|key ID EPOCH USES`) as written before the gateway.
  static func decode(_ bytes: [UInt8]) throws -> UsageState {
    let fieldCount: Int
    if bytes.starts(with: header) {
      fieldCount = 13
    } else if bytes.starts(with: headerVersion1) {
      fieldCount = 4
    } else {
      throw VaultError.integrity("unreadable state file")
    }
    var state = UsageState()
    for line in bytes[header.count...].split(separator: 0x0A) {
      let fields = line.split(separator: 0x20, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
      }
      guard fields.count == fieldCount, RecordID(hex: fields[1]) != nil else {
        throw VaultError.integrity("unreadable state file")
      }
      let numbers = fields[2...].compactMap { Int64($0) }.filter { $0 >= 0 }
      guard numbers.count == fieldCount - 2 else { throw VaultError.integrity("unreadable state file") }
      var record = Record(lastUsed: Timestamp(secondsSinceEpoch: numbers[0]), uses: numbers[1])
      if fieldCount == 13 {
        record.gateway = GatewayCounts(
          requests: numbers[2], succeeded: numbers[3], clientErrors: numbers[4], serverErrors: numbers[5],
          tokensIn: numbers[6], tokensOut: numbers[7])
        record.day = numbers[8]
        record.dayRequests = numbers[9]
        record.dayTokens = numbers[10]
      }
      switch fields[0] {
      case "agent": state.agents[fields[1]] = record
      case "key": state.keys[fields[1]] = record
      default: throw VaultError.integrity("unreadable state file")
      }
    }
    return state
  }
}

/// Requests through the gateway by the class of the status the agent got, and the tokens the
/// provider reported. Sums saturate: a state file edited to hold huge numbers must not crash
/// the gateway or a run.
public struct GatewayCounts: Equatable, Sendable {
  public var requests: Int64 = 0
  /// Status below 400.
  public var succeeded: Int64 = 0
  public var clientErrors: Int64 = 0
  /// 5xx, and the gateway's own 502/504.
  public var serverErrors: Int64 = 0
  public var tokensIn: Int64 = 0
  public var tokensOut: Int64 = 0

  public init(
    requests: Int64 = 0, succeeded: Int64 = 0, clientErrors: Int64 = 0, serverErrors: Int64 = 0, tokensIn: Int64 = 0,
    tokensOut: Int64 = 0
  ) {
    self.requests = requests
    self.succeeded = succeeded
    self.clientErrors = clientErrors
    self.serverErrors = serverErrors
    self.tokensIn = tokensIn
    self.tokensOut = tokensOut
  }

  static func sum(_ a: Int64, _ b: Int64) -> Int64 {
    let (value, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : value
  }

  public mutating func add(_ other: GatewayCounts) {
    requests = Self.sum(requests, other.requests)
    succeeded = Self.sum(succeeded, other.succeeded)
    clientErrors = Self.sum(clientErrors, other.clientErrors)
    serverErrors = Self.sum(serverErrors, other.serverErrors)
    tokensIn = Self.sum(tokensIn, other.tokensIn)
    tokensOut = Self.sum(tokensOut, other.tokensOut)
  }

  /// One finished request with the status the agent got and the tokens the provider reported.
  public mutating func count(status: Int, tokensIn: Int64, tokensOut: Int64) {
    var one = GatewayCounts(requests: 1, tokensIn: tokensIn, tokensOut: tokensOut)
    switch status {
    case 200..<400: one.succeeded = 1
    case 400..<500: one.clientErrors = 1
    default: one.serverErrors = 1
    }
    add(one)
  }
}

/// What the gateway counted for one agent key or provider key since its last batch.
public struct GatewayUsageDelta: Equatable, Sendable {
  public var lastUsed: Timestamp
  public var day: Int64
  public var counts = GatewayCounts()

  public init(lastUsed: Timestamp) {
    self.lastUsed = lastUsed
    self.day = lastUsed.secondsSinceEpoch / 86_400
  }

  /// Counts one finished request.
  public mutating func count(status: Int, tokensIn: Int64, tokensOut: Int64, at now: Timestamp) {
    lastUsed = max(lastUsed, now)
    counts.count(status: status, tokensIn: tokensIn, tokensOut: tokensOut)
  }
}

extension VaultStore {
  /// The usage state beside this vault.
  public func usage() -> UsageState {
    UsageState.read(forVault: targetPath)
  }

  /// Records one use; see `UsageState.recordUse`. Returns a warning for the user, if any.
  @discardableResult
  public func recordUse(agentID: String?, keyIDs: [RecordID], at now: Timestamp = .now()) throws -> String? {
    try UsageState.recordUse(forVault: targetPath, agentID: agentID, keyIDs: keyIDs, at: now, lockTimeout: lockTimeout)
  }
}
