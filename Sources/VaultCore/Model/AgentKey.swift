/// What an agent key may read. Provider and model scopes are live: a provider key added or
/// linked later that matches becomes readable without re-issuing the token; so is `all`.
public struct AgentScope: Equatable, Sendable {
  /// Every provider key, now and later.
  public var all: Bool
  /// Provider keys by record id, so a rename keeps them in scope.
  public var keys: [RecordID]
  public var providers: [String]
  public var models: [String]

  public init(all: Bool = false, keys: [RecordID] = [], providers: [String] = [], models: [String] = []) {
    self.all = all
    self.keys = keys
    self.providers = providers
    self.models = models
  }

  public var isEmpty: Bool { !all && keys.isEmpty && providers.isEmpty && models.isEmpty }

  /// Whether `key` is in this scope.
  public func contains(_ key: ProviderKey) -> Bool {
    if all || keys.contains(key.id) { return true }
    if let provider = key.provider, providers.contains(provider) { return true }
    return key.models.contains { models.contains($0) }
  }

  /// The scope as one line of text, bound into the agent's slot so editing the scope in the
  /// file breaks the slot (docs/FORMAT.md, "Agent keys"). Lists are sorted: order is not meaning.
  var canonicalText: String {
    var text = all ? "all=1;keys=" : "all=0;keys="
    Self.appendSorted(keys.map { $0.description }, to: &text)
    text += ";providers="
    Self.appendSorted(providers, to: &text)
    text += ";models="
    Self.appendSorted(models, to: &text)
    return text
  }

  /// `items` sorted and joined with commas, appended in place (what `sorted().joined(separator:)`
  /// gives, without the generic joining that instantiated metadata at run time on every unlock).
  private static func appendSorted(_ items: [String], to text: inout String) {
    var first = true
    for item in items.sorted() {
      if !first { text += "," }
      text += item
      first = false
    }
  }
}

/// One data key of a provider key, wrapped under a credential's slot key.
public struct Grant: Equatable, Sendable {
  public var key: RecordID
  /// `nonce || AES-256-GCM(slot key, data key) || tag`.
  public var sealedDataKey: [UInt8]

  public init(key: RecordID, sealedDataKey: [UInt8]) {
    self.key = key
    self.sealedDataKey = sealedDataKey
  }
}

/// One token of an agent key and everything it unlocks. An agent has one, or two for the
/// grace period after `rotate`. Each has its own slot key, so retiring one re-keys only what
/// it could read.
public struct AgentCredential: Equatable, Sendable {
  /// The token id, 16 lowercase hex digits (the 64-bit id inside the token).
  public var id: String
  /// First 4 and last 4 characters of the token.
  public var display: String
  /// SHA-256 of the token's 256-bit secret.
  public var secretHash: [UInt8]
  /// The expiry bound into the slot: editing it in the file breaks the slot.
  public var notAfter: Timestamp
  /// An earlier end set by `rotate --grace` for the old token (not bound into the slot; the
  /// owner's next write after it purges the slot).
  public var retireAt: Timestamp?
  /// The slot key under the master key; nil once purged.
  public var sealedSlotKeyForOwner: [UInt8]?
  /// The slot key under a key derived from the token's secret; nil once purged.
  public var slot: [UInt8]?
  public var grants: [Grant]

  public init(
    id: String, display: String, secretHash: [UInt8], notAfter: Timestamp, retireAt: Timestamp?,
    sealedSlotKeyForOwner: [UInt8]?, slot: [UInt8]?, grants: [Grant]
  ) {
    self.id = id
    self.display = display
    self.secretHash = secretHash
    self.notAfter = notAfter
    self.retireAt = retireAt
    self.sealedSlotKeyForOwner = sealedSlotKeyForOwner
    self.slot = slot
    self.grants = grants
  }

  /// When this token stops working: its bound expiry, or the end of its grace period.
  public var effectiveExpiry: Timestamp { retireAt.map { min($0, notAfter) } ?? notAfter }

  /// Whether its slot still exists (not purged by revocation or expiry).
  public var isLive: Bool { slot != nil && sealedSlotKeyForOwner != nil }
}

/// An agent key as stored: a name, a scope, and its token(s).
public struct AgentKey: Equatable, Sendable {
  /// 32 lowercase hex digits, fixed at creation; bound into the slot and every grant.
  public var id: String
  /// `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 64 characters, unique.
  public var name: String
  public var createdBy: String
  public var created: Timestamp
  public var revoked: Timestamp?
  public var scope: AgentScope
  /// What it may spend through the gateway; bound into its grants.
  public var limits: AgentLimits
  /// The current token first; a rotated-out token in its grace period second.
  public var credentials: [AgentCredential]

  public init(
    id: String, name: String, createdBy: String, created: Timestamp, revoked: Timestamp?, scope: AgentScope,
    limits: AgentLimits = .none, credentials: [AgentCredential]
  ) {
    self.id = id
    self.name = name
    self.createdBy = createdBy
    self.created = created
    self.revoked = revoked
    self.scope = scope
    self.limits = limits
    self.credentials = credentials
  }

  /// Active, Expired or Revoked at `now`.
  public func status(at now: Timestamp) -> AgentStatus {
    if let revoked { return .revoked(on: revoked) }
    guard let current = credentials.first else { return .revoked(on: created) }
    return now < current.effectiveExpiry ? .active : .expired(on: current.effectiveExpiry)
  }

  /// The current token's expiry.
  public var expires: Timestamp { credentials.first?.effectiveExpiry ?? created }

  /// The display form of the current token.
  public var display: String { credentials.first?.display ?? "-" }
}

public enum AgentStatus: Equatable, Sendable {
  case active
  case expired(on: Timestamp)
  case revoked(on: Timestamp)

  public var label: String {
    switch self {
    case .active: return "Active"
    case .expired: return "Expired"
    case .revoked: return "Revoked"
    }
  }
}

/// Vault-wide settings the owner can change (`vault config set`).
public struct VaultSettings: Equatable, Sendable {
  /// How many agent keys may be active at once.
  public var agentKeyLimit: Int
  /// Base-URL overrides by provider, sorted by provider, at most one each.
  public var endpoints: [ProviderEndpoint]

  public static let defaultAgentKeyLimit = 10
  public static let maximumAgentKeyLimit = 1_000

  public init(agentKeyLimit: Int = defaultAgentKeyLimit, endpoints: [ProviderEndpoint] = []) {
    self.agentKeyLimit = agentKeyLimit
    self.endpoints = endpoints
  }

  /// The override for `provider`, if the owner set one.
  public func endpoint(for provider: String?) -> String? {
    guard let provider else { return nil }
    return endpoints.first { $0.provider == provider }?.baseURL
  }
}
