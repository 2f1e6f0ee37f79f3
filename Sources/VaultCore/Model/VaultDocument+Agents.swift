import VaultCrypto

/// The owner's changes to agent keys. Each checks its inputs first and changes nothing when it
/// throws; `maintainAgents` runs after every owner write (VaultStore.update).
extension VaultDocument {
  /// The longest an agent key may live: 365 days.
  public static let maximumAgentLifetime: Int64 = 365 * 86_400
  /// The default lifetime: 90 days.
  public static let defaultAgentLifetime: Int64 = 90 * 86_400

  /// How many agent keys are active at `now`.
  public func activeAgentCount(at now: Timestamp) -> Int {
    agents.filter { $0.status(at: now) == .active }.count
  }

  /// Issues a new agent key and returns its token, which exists nowhere else.
  public mutating func createAgent(
    name: String, scope: AgentScope, lifetime: Int64, createdBy: String, keyring: Keyring, now: Timestamp
  ) throws -> AgentToken {
    try Names.validateAgentName(name)
    guard agentIndex(of: name) == nil else { throw VaultError.agentExists(name: name) }
    guard !scope.isEmpty else { throw VaultError.usage("give a scope: --all, or --key, --provider or --model") }
    // Each list once, in the order given (the reader accepts repeats in older files).
    var scope = scope
    scope.keys = Self.unique(scope.keys)
    scope.providers = Self.unique(scope.providers)
    scope.models = Self.unique(scope.models)
    guard scope.providers.count <= RecordLimits.maximumScopeEntries,
      scope.models.count <= RecordLimits.maximumScopeEntries
    else {
      throw VaultError.invalidInput(
        "an agent key's scope names at most \(RecordLimits.maximumScopeEntries) providers and as many models")
    }
    guard lifetime > 0, lifetime <= Self.maximumAgentLifetime else {
      throw VaultError.invalidInput("an agent key lives 1 second to 365 days")
    }
    guard activeAgentCount(at: now) < header.settings.agentKeyLimit else {
      throw VaultError.agentLimitReached(limit: header.settings.agentKeyLimit)
    }
    let id = try RecordID.random().description
    let (token, credential) = try keyring.newCredential(
      agentID: id, scope: scope, notAfter: Timestamp(secondsSinceEpoch: now.secondsSinceEpoch + lifetime))
    agents.append(
      AgentKey(
        id: id, name: name, createdBy: createdBy, created: now, revoked: nil, scope: scope, credentials: [credential]))
    try maintainAgents(keyring: keyring, now: now)
    return token
  }

  private static func unique<Element: Hashable>(_ elements: [Element]) -> [Element] {
    var seen = Set<Element>()
    return elements.filter { seen.insert($0).inserted }
  }

  public mutating func renameAgent(_ name: String, to newName: String) throws {
    try Names.validateAgentName(newName)
    guard let index = agentIndex(of: name) else { throw VaultError.agentNotFound(name: name) }
    guard newName != name else { return }
    guard agentIndex(of: newName) == nil else { throw VaultError.agentExists(name: newName) }
    agents[index].name = newName
  }

  /// A new token for an active agent key. The old one stops at once (`grace` 0), or works for
  /// `grace` seconds more; either way its slot is purged and its data keys re-keyed once it
  /// stops. `lifetime` nil keeps the current expiry.
  public mutating func rotateAgent(
    _ name: String, grace: Int64, lifetime: Int64?, keyring: Keyring, now: Timestamp
  ) throws -> AgentToken {
    guard let index = agentIndex(of: name) else { throw VaultError.agentNotFound(name: name) }
    let status = agents[index].status(at: now)
    guard status == .active else {
      throw VaultError.invalidInput("agent key \(name) is \(status.label.lowercased()); create a new one instead")
    }
    if let lifetime, lifetime <= 0 || lifetime > Self.maximumAgentLifetime {
      throw VaultError.invalidInput("an agent key lives 1 second to 365 days")
    }
    guard grace >= 0, grace <= Self.maximumAgentLifetime else {
      throw VaultError.invalidInput("the grace period is too long")
    }
    let notAfter = lifetime.map { Timestamp(secondsSinceEpoch: now.secondsSinceEpoch + $0) } ?? agents[index].expires
    // Only the newest earlier token is kept for its grace; an older one retires now. Its grants
    // bind the grace end, so they are dropped here and sealed again by maintainAgents.
    for position in agents[index].credentials.indices { agents[index].credentials[position].retireAt = now }
    if grace > 0 {
      agents[index].credentials[0].retireAt = Timestamp(secondsSinceEpoch: now.secondsSinceEpoch + grace)
      agents[index].credentials[0].grants = []
    }
    let (token, credential) = try keyring.newCredential(
      agentID: agents[index].id, scope: agents[index].scope, notAfter: notAfter)
    agents[index].credentials.insert(credential, at: 0)
    try maintainAgents(keyring: keyring, now: now)
    return token
  }

  /// Revokes an agent key at once: every slot purged, every data key it could read re-keyed.
  /// Returns the names of the provider keys it could read, which the owner should rotate at the
  /// provider (re-keying cannot take back a value the agent already saw).
  public mutating func revokeAgent(_ name: String, keyring: Keyring, now: Timestamp) throws -> [String] {
    guard let index = agentIndex(of: name) else { throw VaultError.agentNotFound(name: name) }
    if agents[index].revoked != nil { throw VaultError.invalidInput("agent key \(name) is already revoked") }
    let exposed = exposedKeyNames(of: agents[index])
    agents[index].revoked = now
    try maintainAgents(keyring: keyring, now: now)
    return exposed
  }

  /// Deletes an agent key's record, revoking it first if it still has a slot.
  public mutating func removeAgent(_ name: String, keyring: Keyring, now: Timestamp) throws -> [String] {
    guard let index = agentIndex(of: name) else { throw VaultError.agentNotFound(name: name) }
    let exposed = agents[index].credentials.contains(where: \.isLive) ? exposedKeyNames(of: agents[index]) : []
    if agents[index].revoked == nil { agents[index].revoked = now }
    try maintainAgents(keyring: keyring, now: now)
    agents.removeAll { $0.name == name }
    return exposed
  }

  /// Sets an agent key's gateway limits. Its grants bind them, so they are sealed again.
  public mutating func setAgentLimits(_ name: String, _ limits: AgentLimits, keyring: Keyring, now: Timestamp) throws {
    guard let index = agentIndex(of: name) else { throw VaultError.agentNotFound(name: name) }
    agents[index].limits = limits
    for position in agents[index].credentials.indices { agents[index].credentials[position].grants = [] }
    try maintainAgents(keyring: keyring, now: now)
  }

  /// Sets (or, with nil, clears) the base URL of `provider`. Every grant of that provider's
  /// keys binds it, so those grants are sealed again.
  public mutating func setEndpoint(provider: String, baseURL: String?, keyring: Keyring, now: Timestamp) throws {
    var endpoints = header.settings.endpoints.filter { $0.provider != provider }
    if let baseURL { endpoints.append(ProviderEndpoint(provider: provider, baseURL: baseURL)) }
    header.settings.endpoints = endpoints.sorted { $0.provider < $1.provider }
    dropGrants(for: Set(keys.filter { $0.provider == provider }.map(\.id)))
    try maintainAgents(keyring: keyring, now: now)
  }

  /// The names of the provider keys an agent key's live tokens could read.
  func exposedKeyNames(of agent: AgentKey) -> [String] {
    let granted = Set(agent.credentials.filter(\.isLive).flatMap { $0.grants.map(\.key) })
    return keys.filter { granted.contains($0.id) }.map(\.name)
  }

  /// Brings every agent's slots and grants in line with the document: purges the slots of
  /// revoked, expired and retired tokens (re-keying every data key they could read), drops
  /// grants of keys gone or out of scope, and grants keys newly in a live scope.
  public mutating func maintainAgents(keyring: Keyring, now: Timestamp) throws {
    var rekey = Set<RecordID>()
    for agentIndex in agents.indices {
      for position in agents[agentIndex].credentials.indices {
        let credential = agents[agentIndex].credentials[position]
        let stopped = agents[agentIndex].revoked != nil || now >= credential.effectiveExpiry
        guard stopped, credential.isLive else { continue }
        rekey.formUnion(credential.grants.map(\.key))
        agents[agentIndex].credentials[position].slot = nil
        agents[agentIndex].credentials[position].sealedSlotKeyForOwner = nil
        agents[agentIndex].credentials[position].grants = []
      }
      // A rotated-out token whose slot is gone has nothing left to show beside a live one.
      let credentials = agents[agentIndex].credentials
      if credentials[0].isLive {
        agents[agentIndex].credentials = [credentials[0]] + credentials.dropFirst().filter(\.isLive)
      }
    }
    if !rekey.isEmpty {
      for index in keys.indices where rekey.contains(keys[index].id) { keys[index] = try keyring.rekeyed(keys[index]) }
      dropGrants(for: rekey)
    }
    try reconcileGrants(keyring: keyring)
  }

  /// Removes every grant of these provider keys (their data key changed, or they are gone).
  mutating func dropGrants(for ids: Set<RecordID>) {
    guard !ids.isEmpty else { return }
    for agentIndex in agents.indices {
      for position in agents[agentIndex].credentials.indices {
        agents[agentIndex].credentials[position].grants.removeAll { ids.contains($0.key) }
      }
    }
  }

  private mutating func reconcileGrants(keyring: Keyring) throws {
    // No live token, nothing to grant: a vault of 10,000 keys and no agent keys skips the index.
    guard agents.contains(where: { $0.credentials.contains(where: \.isLive) }) else { return }
    let byID = Dictionary(uniqueKeysWithValues: keys.map { ($0.id, $0) })
    for agentIndex in agents.indices {
      let agent = agents[agentIndex]
      for position in agent.credentials.indices where agent.credentials[position].isLive {
        let credential = agent.credentials[position]
        var grants = credential.grants.filter { grant in byID[grant.key].map(agent.scope.contains) ?? false }
        let granted = Set(grants.map(\.key))
        let missing = keys.filter { agent.scope.contains($0) && !granted.contains($0.id) }
        if !missing.isEmpty {
          let slotKey = try keyring.slotKey(of: credential, agentID: agent.id)
          for key in missing {
            grants.append(
              try keyring.grant(
                key, slotKey: slotKey, agent: agent, credential: credential,
                endpoint: header.settings.endpoint(for: key.provider)))
          }
        }
        agents[agentIndex].credentials[position].grants = grants
      }
    }
  }
}
