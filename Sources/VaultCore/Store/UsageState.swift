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

    /// Adds `count` uses, the last at `lastUsed`, saturating: a state file edited to hold
    /// Int64.max must not crash a run.
    mutating func count(_ count: Int64, lastUsed time: Timestamp) {
      lastUsed = time
      uses = GatewayCounts.sum(uses, count)
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

  /// The usage beside `vaultPath`, the snapshot with the log's uses added; empty when there is
  /// none or it cannot be read (usage is a convenience, never a reason to fail).
  public static func read(forVault vaultPath: String) -> UsageState {
    load(forVault: vaultPath).state
  }

  /// What the files beside the vault hold, and why one that exists cannot be used.
  struct Loaded {
    var state: UsageState
    /// Why the snapshot (`<vault>.state`) cannot be used: damaged, too large, a link.
    var problem: String?
    /// Why the log (`<vault>.state.log`) cannot be used.
    var logProblem: String?
  }

  /// The snapshot with the log's uses added, when the log belongs to it (the same fold number).
  /// Takes no lock: a FIFO at the lock's path must not hang a reader, and none is needed. The
  /// log is read first: a fold replaces the snapshot before the log, so the snapshot read
  /// after is never older than the log; a log of the fold before is skipped by its number.
  static func load(forVault vaultPath: String) -> Loaded {
    let log = readLog(UsageLog.path(forVault: vaultPath))
    let snapshot = readSnapshot(path(forVault: vaultPath))
    var state = snapshot.state
    if snapshot.problem == nil, case .uses(let fold, let tally) = log.contents, fold == snapshot.fold {
      state.apply(tally)
    }
    return Loaded(state: state, problem: snapshot.problem, logProblem: log.problem)
  }

  private static func readSnapshot(_ path: String) -> (state: UsageState, fold: Int64, problem: String?) {
    snapshot(readSnapshotBytes(path), path: path)
  }

  /// The snapshot's bytes: `.some(nil)` when there is none, nil when it cannot be read or is
  /// not a regular file within `maximumByteCount` (`try?` would flatten the two together).
  private static func readSnapshotBytes(_ path: String) -> [UInt8]?? {
    do {
      return .some(try VaultFile.read(path, limit: maximumByteCount, followLinks: false))
    } catch VaultError.vaultNotFound {
      return .some(nil)
    } catch {
      return nil
    }
  }

  /// What `readSnapshotBytes` gave, read as a snapshot, and why it cannot be used.
  private static func snapshot(_ read: [UInt8]??, path: String) -> (state: UsageState, fold: Int64, problem: String?) {
    guard let read else { return (UsageState(), 0, "the usage state file \(path) cannot be read") }
    guard let bytes = read else { return (UsageState(), 0, nil) }
    // What a power cut can leave of a snapshot made without its fsync (by an older `vault`): an
    // empty or NUL-filled file. Nothing is known in it, and nothing worth keeping as `.bad`.
    if bytes.allSatisfy({ $0 == 0 }) { return (UsageState(), 0, nil) }
    guard let (state, fold) = try? decodeSnapshot(bytes) else {
      return (UsageState(), 0, "the usage state file \(path) is damaged")
    }
    return (state, fold, nil)
  }

  private static func readLog(_ path: String) -> (contents: UsageLog.Contents, problem: String?) {
    let bytes: [UInt8]
    do {
      bytes = try VaultFile.read(path, limit: UsageLog.maximumByteCount, followLinks: false)
    } catch VaultError.vaultNotFound {
      return (.empty, nil)
    } catch {
      return (.empty, "the usage log \(path) cannot be read")
    }
    let contents = UsageLog.parse(bytes)
    if contents == .damaged { return (.empty, "the usage log \(path) is damaged") }
    return (contents, nil)
  }

  /// Adds one use of `agentID` (if any) and of each of `keyIDs` at `now`, under
  /// `<vault>.state.lock`, so concurrent runs each count once: one line appended to the log,
  /// or, when the log is full or not as a fold left it, a fold. Returns a warning when an
  /// unusable file was set aside (renamed to `<vault>.state.bad` or `<vault>.state.log.bad`).
  @discardableResult
  public static func recordUse(
    forVault vaultPath: String, agentID: String?, keyIDs: [RecordID], at now: Timestamp, lockTimeout: Double = 10
  ) throws -> String? {
    guard agentID != nil || !keyIDs.isEmpty else { return nil }
    var keys = keyIDs
    // A launch from the run cache gives them in order already (its record keeps the keys so):
    // one pass checks that, instead of sorting a thousand ids on every launch.
    if !zip(keys, keys.dropFirst()).allSatisfy({ $0 < $1 }) {
      keys.sort()
      keys.removeDuplicatesInOrder()
    }
    var agent: RecordID? = nil
    if let agentID {
      guard let id = RecordID(hex: agentID) else {
        // An id the log cannot spell (the vault's reader never gives one): counted by a fold.
        return try update(forVault: vaultPath, lockTimeout: lockTimeout) { state in
          state.agents[agentID, default: Record(lastUsed: now, uses: 0)].count(1, lastUsed: now)
          for id in keys { state.keys[id.description, default: Record(lastUsed: now, uses: 0)].count(1, lastUsed: now) }
        }
      }
      agent = id
    }
    let lock = try FileLock(path: path(forVault: vaultPath) + ".lock", timeout: lockTimeout)
    return try withExtendedLifetime(lock) {
      if try UsageLog.append(agent: agent, keys: keys, at: now.secondsSinceEpoch, forVault: vaultPath) {
        return nil
      }
      var tally = UsageTally()
      tally.add(agent: agent, keys: keys, at: now.secondsSinceEpoch)
      return try fold(forVault: vaultPath, adding: tally)
    }
  }

  /// Adds the gateway's batch of counts (by agent id and by provider key id), folding the log
  /// into the snapshot on the way.
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

  /// A fold with `change` applied, under the lock.
  private static func update(
    forVault vaultPath: String, lockTimeout: Double, _ change: @escaping (inout UsageState) -> Void
  ) throws -> String? {
    let lock = try FileLock(path: path(forVault: vaultPath) + ".lock", timeout: lockTimeout)
    return try withExtendedLifetime(lock) {
      try fold(forVault: vaultPath, adding: UsageTally(), change)
    }
  }

  /// Rewrites the snapshot with the log's uses, then `tally`'s, then `change` applied, and
  /// starts an empty log: a fold. Called under `<vault>.state.lock`.
  ///
  /// Both files are replaced atomically (a temporary file renamed over them): losing the last
  /// counts to a power cut is acceptable, a torn or empty snapshot is not, so the snapshot's
  /// temporary is fsynced before its rename (`Durability.contents`); the log's bare header is
  /// not (an empty log counts nothing). The new
  /// snapshot and the new log carry the next fold number, the snapshot renamed first: a crash
  /// between the two leaves the old log, whose number no longer matches, so its uses, now in
  /// the snapshot, are not counted again.
  ///
  /// Without `change`, the common case (a snapshot as this code writes it) is folded from bytes
  /// to bytes by `UsageStateScanner`; otherwise, or for any other form, it is parsed, changed
  /// and encoded. An unusable snapshot or log is set aside (renamed to `.bad`) with a warning.
  private static func fold(
    forVault vaultPath: String, adding tally: UsageTally, _ change: ((inout UsageState) -> Void)? = nil
  ) throws -> String? {
    let path = path(forVault: vaultPath)
    let logPath = UsageLog.path(forVault: vaultPath)
    // A directory there could not be replaced: fail before the snapshot changes, so the use is
    // reported as not recorded, as for a directory at the snapshot's path.
    if let status = SystemCalls.pathStatus(logPath, followLinks: false), SystemCalls.isDirectory(status) {
      throw VaultError.io("cannot replace \(logPath): it is a directory")
    }
    let log = readLog(logPath)
    var logFold: Int64 = 0
    var logged = UsageTally()
    if case .uses(let fold, let uses) = log.contents {
      logFold = fold
      logged = uses
    }
    let present = readSnapshotBytes(path)
    let snapshotFold = present.flatMap { $0.flatMap(headerFold) } ?? 0
    let next = max(snapshotFold, logFold) == .max ? 1 : max(snapshotFold, logFold) + 1
    var added = logFold == snapshotFold ? logged : UsageTally()
    added.add(tally)

    var warnings: [String] = []
    let bytes: [UInt8]
    if change == nil, let read = present,
      let updated = UsageStateScanner.folding(added, into: read ?? header(fold: 0), fold: next)
    {
      bytes = updated
    } else {
      // The bytes read above, not a second read of the file.
      let snapshot = snapshot(present, path: path)
      var state = snapshot.state
      if let problem = snapshot.problem, setAside(path) {
        warnings.append("\(problem); set aside as \(path).bad, counting anew")
      }
      // A damaged snapshot's fold number is not known: the log is not counted on top of nothing.
      if snapshot.problem == nil, logFold == snapshot.fold { state.apply(logged) }
      state.apply(tally)
      change?(&state)
      bytes = state.encoded(fold: next)
    }
    // Removed under the lock: what a fold killed before its renames left (each up to 8 MiB).
    VaultFile.removeStaleTemporaries(for: path)
    VaultFile.removeStaleTemporaries(for: logPath)
    // The snapshot's bytes reach the disk before its rename: a power cut then leaves the old
    // snapshot or the new one, never an empty file that would be set aside with the gateway's
    // daily counts. One fsync a fold: once in eight runs at 1,000 keys, at most once a second
    // for the gateway.
    try VaultFile.replace(path, with: bytes, durability: .contents)
    if let problem = log.problem, setAside(logPath) {
      warnings.append("\(problem); set aside as \(logPath).bad, the uses it held are not counted")
    }
    try VaultFile.replace(logPath, with: UsageLog.header(fold: next), durability: .none)
    return warnings.isEmpty ? nil : warnings.joined(separator: "; ")
  }

  /// Renames an unusable file at `path` to `path.bad`; true when it did. Only a file or a link
  /// is set aside; anything else there (a FIFO) is replaced by the rename that follows, and a
  /// directory makes that rename fail, which the caller reports as a warning.
  private static func setAside(_ path: String) -> Bool {
    guard let status = SystemCalls.pathStatus(path, followLinks: false),
      SystemCalls.isRegular(status) || SystemCalls.isSymbolicLink(status)
    else { return false }
    return path.withCString { from in (path + ".bad").withCString { rename(from, $0) } } == 0
  }

  /// The state as text: a header line naming fold number `fold`, then one line per record,
  /// `agent|key ID` and eleven numbers (docs/FORMAT.md, "Files beside the vault"). Plain
  /// lines, not JSON: folds rewrite this file for each of up to thousands of keys (through
  /// `UsageStateScanner`, which reads and writes exactly this form).
  func encoded(fold: Int64) -> [UInt8] {
    var text = Self.header(fold: fold)
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

  private static let headerPrefix = Array("llm-vault-usage 3 ".utf8)
  private static let headerVersion2 = Array("llm-vault-usage 2\n".utf8)
  private static let headerVersion1 = Array("llm-vault-usage 1\n".utf8)

  /// The first line of a snapshot made by the fold numbered `fold`.
  static func header(fold: Int64) -> [UInt8] { PlainDecimal.line(headerPrefix, fold) }

  /// The fold number of a version-3 header at the start of `bytes`, and where it ends.
  static func header(in bytes: UnsafeBufferPointer<UInt8>) -> (fold: Int64, end: Int)? {
    PlainDecimal.scanLine(headerPrefix, in: bytes).map { (fold: $0.value, end: $0.end) }
  }

  /// The fold number a snapshot's header names: 0 for versions 1 and 2, written before the log.
  private static func headerFold(_ bytes: [UInt8]) -> Int64? {
    bytes.withUnsafeBufferPointer { header(in: $0)?.fold }
  }

  /// Reads versions 3, 2 (no fold number) and 1 (`agent|key ID EPOCH USES`, before the gateway).
  static func decode(_ bytes: [UInt8]) throws -> UsageState {
    try decodeSnapshot(bytes).state
  }

  static func decodeSnapshot(_ bytes: [UInt8]) throws -> (state: UsageState, fold: Int64) {
    let fieldCount: Int
    let fold: Int64
    let start: Int
    if let (number, end) = bytes.withUnsafeBufferPointer({ header(in: $0) }) {
      (fieldCount, fold, start) = (13, number, end)
    } else if bytes.starts(with: headerVersion2) {
      (fieldCount, fold, start) = (13, 0, headerVersion2.count)
    } else if bytes.starts(with: headerVersion1) {
      (fieldCount, fold, start) = (4, 0, headerVersion1.count)
    } else {
      throw VaultError.integrity("unreadable state file")
    }
    var state = UsageState()
    for line in bytes[start...].split(separator: 0x0A) {
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
    return (state, fold)
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
