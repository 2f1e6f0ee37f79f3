import VaultCore

/// How agent keys look on screen and in `--json`: never a token, only its display form.
enum AgentPresentation {
  /// The scope in words, with key ids resolved to current names.
  static func scope(_ scope: AgentScope, keys: [ProviderKey]) -> String {
    if scope.all { return "all keys" }
    var parts: [String] = []
    let names = Dictionary(uniqueKeysWithValues: keys.map { ($0.id, $0.name) })
    parts += scope.keys.map { "key:" + (names[$0] ?? "(deleted)") }
    parts += scope.providers.map { "provider:" + $0 }
    parts += scope.models.map { "model:" + $0 }
    return parts.joined(separator: ",")
  }

  static func expires(_ agent: AgentKey, now: Timestamp) -> String {
    let remaining = agent.expires.secondsSinceEpoch - now.secondsSinceEpoch
    guard agent.status(at: now) == .active, remaining < 7 * 86_400 else { return agent.expires.day }
    return "\(agent.expires.day) (expires \(Lifetime.remaining(until: agent.expires, from: now)))"
  }

  static func table(_ agents: [AgentKey], keys: [ProviderKey], usage: UsageState, now: Timestamp, colour: Bool)
    -> String
  {
    let header = ["NAME", "STATUS", "KEY", "SCOPE", "CREATED", "LAST USED", "CREATED BY", "EXPIRES"]
    let rows = agents.map { agent in
      [
        agent.name, agent.status(at: now).label, agent.display, scope(agent.scope, keys: keys), agent.created.day,
        usage.agents[agent.id]?.lastUsed.day ?? "never", agent.createdBy, expires(agent, now: now),
      ]
    }
    return Table.render(header: header, rows: rows, colour: colour)
  }

  static func json(
    _ agent: AgentKey, keys: [ProviderKey], usage: UsageState, now: Timestamp, into writer: inout JSONWriter
  ) {
    let names = Dictionary(uniqueKeysWithValues: keys.map { ($0.id, $0.name) })
    writer.raw("{\"name\":")
    writer.string(agent.name)
    writer.raw(",\"status\":")
    writer.string(agent.status(at: now).label)
    writer.raw(",\"key\":")
    writer.string(agent.display)
    writer.raw(",\"scope\":{\"all\":")
    writer.bool(agent.scope.all)
    writer.raw(",\"keys\":")
    writer.stringArray(agent.scope.keys.compactMap { names[$0] })
    writer.raw(",\"providers\":")
    writer.stringArray(agent.scope.providers)
    writer.raw(",\"models\":")
    writer.stringArray(agent.scope.models)
    writer.raw("},\"readable\":")
    let granted = Set(agent.credentials.first?.grants.map(\.key) ?? [])
    writer.stringArray(keys.filter { granted.contains($0.id) }.map(\.name))
    writer.raw(",\"created\":")
    writer.string(agent.created.rfc3339)
    writer.raw(",\"createdBy\":")
    writer.string(agent.createdBy)
    writer.raw(",\"lastUsed\":")
    writer.optionalString(usage.agents[agent.id]?.lastUsed.rfc3339)
    writer.raw(",\"uses\":")
    writer.integer(usage.agents[agent.id]?.uses ?? 0)
    writer.raw(",\"expires\":")
    writer.string(agent.expires.rfc3339)
    writer.raw(",\"revoked\":")
    writer.optionalString(agent.revoked?.rfc3339)
    gatewayJSON(agent, usage: usage.agents[agent.id], now: now, into: &writer)
    writer.raw("}")
  }

  /// `"limits":{...},"gateway":{...}`: the owner's limits and what the gateway served.
  static func gatewayJSON(_ agent: AgentKey, usage: UsageState.Record?, now: Timestamp, into writer: inout JSONWriter) {
    writer.raw(",\"limits\":{")
    for (index, limit) in AgentLimits.members.enumerated() {
      writer.raw(index == 0 ? "\"" : ",\"")
      writer.raw(limit.member)
      writer.raw("\":")
      if let value = agent.limits[keyPath: limit.keyPath] { writer.integer(Int64(value)) } else { writer.raw("null") }
    }
    let record = usage ?? UsageState.Record(lastUsed: Timestamp(secondsSinceEpoch: 0), uses: 0)
    let today = record.daily(on: now.secondsSinceEpoch / 86_400)
    writer.raw("}")
    gatewayCountsJSON(record.gateway, into: &writer)
    writer.raw(",\"gatewayToday\":{\"requests\":")
    writer.integer(today.requests)
    writer.raw(",\"tokens\":")
    writer.integer(today.tokens)
    writer.raw("}")
  }

  /// `,"gateway":{"requests":..,"succeeded":..,"clientErrors":..,"serverErrors":..,"tokensIn":..,"tokensOut":..}`
  static func gatewayCountsJSON(_ counts: GatewayCounts, into writer: inout JSONWriter) {
    writer.raw(",\"gateway\":{\"requests\":")
    writer.integer(counts.requests)
    writer.raw(",\"succeeded\":")
    writer.integer(counts.succeeded)
    writer.raw(",\"clientErrors\":")
    writer.integer(counts.clientErrors)
    writer.raw(",\"serverErrors\":")
    writer.integer(counts.serverErrors)
    writer.raw(",\"tokensIn\":")
    writer.integer(counts.tokensIn)
    writer.raw(",\"tokensOut\":")
    writer.integer(counts.tokensOut)
    writer.raw("}")
  }

  /// The gateway's counts in words: `12 requests (10 ok, 2 4xx, 0 5xx), 300 tokens in, 80 out`.
  static func gatewaySummary(_ record: UsageState.Record?) -> String {
    guard let record, record.gateway.requests > 0 else { return "no requests" }
    return "\(record.gateway.requests) requests (\(record.gateway.succeeded) ok, \(record.gateway.clientErrors) 4xx, "
      + "\(record.gateway.serverErrors) 5xx), \(record.gateway.tokensIn) tokens in, \(record.gateway.tokensOut) out"
  }

  static func details(_ agent: AgentKey, keys: [ProviderKey], usage: UsageState, now: Timestamp) -> String {
    let granted = Set(agent.credentials.first?.grants.map(\.key) ?? [])
    let readable = keys.filter { granted.contains($0.id) }.map(\.name)
    var rows: [(String, String)] = [
      ("Name", agent.name),
      ("Status", agent.status(at: now).label),
      ("Key", agent.display),
      ("Scope", scope(agent.scope, keys: keys)),
      ("Readable", readable.isEmpty ? "-" : readable.joined(separator: ", ")),
      ("Created", agent.created.rfc3339),
      ("Created by", agent.createdBy),
      (
        "Last used",
        usage.agents[agent.id].map { "\($0.lastUsed.rfc3339) (\($0.uses) use\($0.uses == 1 ? "" : "s"))" } ?? "never"
      ),
      (
        "Expires",
        agent.expires.rfc3339
          + (agent.status(at: now) == .active ? " (\(Lifetime.remaining(until: agent.expires, from: now)))" : "")
      ),
    ]
    rows.append(("Limits", agent.limits.summary))
    rows.append(("Gateway", gatewaySummary(usage.agents[agent.id])))
    if let revoked = agent.revoked { rows.append(("Revoked", revoked.rfc3339)) }
    if agent.credentials.count > 1, agent.credentials[1].isLive {
      rows.append(
        ("Old key", "\(agent.credentials[1].display) works until \(agent.credentials[1].effectiveExpiry.rfc3339)"))
    }
    return rows.map {
      "\($0.0):" + String(repeating: " ", count: max(1, 12 - $0.0.count)) + DisplaySafety.sanitized($0.1) + "\n"
    }.joined()
  }
}
