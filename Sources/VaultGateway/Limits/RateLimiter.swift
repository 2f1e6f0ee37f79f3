import VaultCore

/// The owner's limits per agent key, enforced in memory: requests per minute (a token bucket),
/// requests and tokens per UTC day (counted from the state file at start, so a restart does
/// not reset them), and requests in flight.
final class RateLimiter: Sendable {
  private struct Counters {
    var bucket: Double
    var refilled: Double
    var day: Int64
    var dayRequests: Int64
    var dayTokens: Int64
    var inFlight: Int
  }

  private let counters = Lock<[String: Counters]>([:])
  /// Today's counts per agent id as the state file had them when the gateway started.
  private let baseline: [String: (day: Int64, requests: Int64, tokens: Int64)]

  init(baseline state: UsageState) {
    var baseline: [String: (day: Int64, requests: Int64, tokens: Int64)] = [:]
    for (id, record) in state.agents { baseline[id] = (record.day, record.dayRequests, record.dayTokens) }
    self.baseline = baseline
  }

  /// Admits one request of `agent` or throws 429 naming the limit and when to retry. An
  /// admitted request must be ended with `finish`.
  func admit(_ agent: AgentKey, now: Timestamp, monotonic: Double) throws(GatewayError) {
    let limits = agent.limits
    let day = now.secondsSinceEpoch / 86_400
    let untilTomorrow = Int((day + 1) * 86_400 - now.secondsSinceEpoch)
    let refusal: GatewayError? = counters.withLock { all in
      var counters =
        all[agent.id]
        ?? {
          let start = baseline[agent.id].flatMap { $0.day == day ? $0 : nil }
          return Counters(
            bucket: Double(limits.requestsPerMinute ?? 0), refilled: monotonic, day: day,
            dayRequests: start?.requests ?? 0, dayTokens: start?.tokens ?? 0, inFlight: 0)
        }()
      if counters.day != day {
        counters.day = day
        counters.dayRequests = 0
        counters.dayTokens = 0
      }
      defer { all[agent.id] = counters }
      if let rpm = limits.requestsPerMinute {
        let rate = Double(rpm) / 60
        counters.bucket = min(Double(rpm), counters.bucket + (monotonic - counters.refilled) * rate)
        counters.refilled = monotonic
        if counters.bucket < 1 {
          let wait = Int(((1 - counters.bucket) / rate).rounded(.up))
          return Self.refusal("\(rpm) requests per minute", agent, retryAfter: max(1, wait))
        }
      }
      if let perDay = limits.requestsPerDay, counters.dayRequests >= Int64(perDay) {
        return Self.refusal("\(perDay) requests per day", agent, retryAfter: untilTomorrow)
      }
      if let tokens = limits.tokensPerDay, counters.dayTokens >= Int64(tokens) {
        return Self.refusal("\(tokens) tokens per day", agent, retryAfter: untilTomorrow)
      }
      if let concurrent = limits.concurrentRequests, counters.inFlight >= concurrent {
        return Self.refusal("\(concurrent) concurrent requests", agent, retryAfter: 1)
      }
      if limits.requestsPerMinute != nil { counters.bucket -= 1 }
      counters.dayRequests += 1
      counters.inFlight += 1
      return nil
    }
    if let refusal { throw refusal }
  }

  /// Ends an admitted request and counts the tokens the provider reported for it.
  func finish(_ agent: AgentKey, tokens: Int64) {
    counters.withLock { all in
      guard var counters = all[agent.id] else { return }
      counters.inFlight = max(0, counters.inFlight - 1)
      let sum = counters.dayTokens.addingReportingOverflow(tokens)
      counters.dayTokens = sum.overflow ? .max : sum.partialValue
      all[agent.id] = counters
    }
  }

  private static func refusal(_ limit: String, _ agent: AgentKey, retryAfter: Int) -> GatewayError {
    GatewayError(
      kind: .tooManyRequests,
      message: "limit reached: agent key \(agent.name) may make \(limit); retry after \(retryAfter) s",
      retryAfter: retryAfter)
  }
}
