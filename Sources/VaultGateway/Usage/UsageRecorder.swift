import VaultCore

/// Counts per agent key and per provider key, kept in memory and added to the state file in
/// batches (each second and at shutdown), so a busy gateway does not rewrite the file per
/// request. A `kill -9` loses at most the batch not yet written; the file itself is replaced
/// atomically, so it is never torn.
final class UsageRecorder: Sendable {
  private struct Batch {
    var agents: [String: GatewayUsageDelta] = [:]
    var keys: [String: GatewayUsageDelta] = [:]
  }

  let vaultPath: String
  private let batch = Lock(Batch())
  private let totals = Lock((requests: Int64(0), errors: Int64(0)))

  init(vaultPath: String) {
    self.vaultPath = vaultPath
  }

  func record(agentID: String?, keyID: RecordID?, status: Int, tokensIn: Int64, tokensOut: Int64, now: Timestamp) {
    batch.withLock { batch in
      if let agentID {
        batch.agents[agentID, default: GatewayUsageDelta(lastUsed: now)].count(
          status: status, tokensIn: tokensIn, tokensOut: tokensOut, at: now)
      }
      if let keyID {
        batch.keys[keyID.description, default: GatewayUsageDelta(lastUsed: now)].count(
          status: status, tokensIn: tokensIn, tokensOut: tokensOut, at: now)
      }
    }
    totals.withLock {
      $0.requests += 1
      if status >= 400 { $0.errors += 1 }
    }
  }

  /// Requests served and how many ended in an error, since start (`vault gateway status`).
  var counts: (requests: Int64, errors: Int64) { totals.withLock { $0 } }

  /// Writes the pending batch; a batch that cannot be written is kept for the next try.
  /// Returns a warning to log, if any.
  @discardableResult
  func flush() -> String? {
    let pending = batch.withLock { batch -> Batch in
      defer { batch = Batch() }
      return batch
    }
    guard !pending.agents.isEmpty || !pending.keys.isEmpty else { return nil }
    do {
      return try UsageState.add(forVault: vaultPath, agents: pending.agents, keys: pending.keys, lockTimeout: 2)
    } catch {
      batch.withLock { batch in
        for (id, delta) in pending.agents { batch.agents[id] = Self.merged(batch.agents[id], delta) }
        for (id, delta) in pending.keys { batch.keys[id] = Self.merged(batch.keys[id], delta) }
      }
      return "could not write usage to the state file; will retry"
    }
  }

  private static func merged(_ newer: GatewayUsageDelta?, _ older: GatewayUsageDelta) -> GatewayUsageDelta {
    guard var merged = newer else { return older }
    merged.counts.add(older.counts)
    return merged
  }
}
