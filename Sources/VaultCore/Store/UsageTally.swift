/// Uses counted by `vault run`, `env` and `inject` and not yet in the usage snapshot: what the
/// usage log adds, by agent id and by provider key id. Applying a tally gives what applying each
/// use in turn would give: the uses added (saturating) and the last use's time.
public struct UsageTally: Equatable, Sendable {
  public struct Uses: Equatable, Sendable {
    public var count: Int64
    /// Seconds since 1970 of the last of these uses.
    public var lastUsed: Int64

    mutating func add(_ more: Int64, at epoch: Int64) {
      count = GatewayCounts.sum(count, more)
      lastUsed = epoch
    }
  }

  public private(set) var agents: [RecordID: Uses] = [:]
  public private(set) var keys: [RecordID: Uses] = [:]

  public init() {}

  public var isEmpty: Bool { agents.isEmpty && keys.isEmpty }

  /// One use at `epoch` of `agent` (if any) and of each of `keys`, which holds each id once (a
  /// run reads a key once).
  mutating func add(agent: RecordID?, keys ids: [RecordID], at epoch: Int64) {
    if let agent { Self.count(&agents, agent, 1, epoch) }
    for id in ids { Self.count(&keys, id, 1, epoch) }
  }

  /// `later`'s uses after these (its times are the newer ones).
  mutating func add(_ later: UsageTally) {
    for (id, uses) in later.agents { Self.count(&agents, id, uses.count, uses.lastUsed) }
    for (id, uses) in later.keys { Self.count(&keys, id, uses.count, uses.lastUsed) }
  }

  private static func count(_ table: inout [RecordID: Uses], _ id: RecordID, _ count: Int64, _ epoch: Int64) {
    // Changed in place: one hash of the id, not a look-up and a store (a fold of a 1,000-key
    // log counts thousands of ids).
    table[id, default: Uses(count: 0, lastUsed: epoch)].add(count, at: epoch)
  }
}

extension UsageState {
  /// Adds `tally`'s uses: each record's count grows and its last use becomes the tally's.
  mutating func apply(_ tally: UsageTally) {
    func apply(_ table: [RecordID: UsageTally.Uses], to records: inout [String: Record]) {
      for (id, uses) in table {
        let time = Timestamp(secondsSinceEpoch: uses.lastUsed)
        records[id.description, default: Record(lastUsed: time, uses: 0)].count(uses.count, lastUsed: time)
      }
    }
    apply(tally.agents, to: &agents)
    apply(tally.keys, to: &keys)
  }
}
