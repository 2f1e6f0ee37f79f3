import Synchronization
import VaultCrypto

/// The owner's side of agent keys: minting credentials, granting data keys, re-keying.
extension Keyring {
  /// A new token for agent `agentID` and its credential: a fresh slot key sealed for the owner
  /// (under the master key) and for the token (under a key derived from its secret), bound to
  /// `notAfter` and `scope`. Grants are added by `VaultDocument.maintainAgents`.
  func newCredential(agentID: String, scope: AgentScope, notAfter: Timestamp) throws -> (AgentToken, AgentCredential) {
    let token = try AgentToken.generate()
    let slotKey = try SecureRandom.secret(count: 32)
    let wrapKey = try AgentKeyring.slotWrapKey(secret: token.secret, vaultID: vaultID, tokenID: token.id)
    let sealedForOwner = try slotKey.withUnsafeBytes {
      try AESGCM.seal(
        $0, key: masterKey,
        associatedData: CryptoContext.slotKey(vaultID: vaultIDHex, agentID: agentID, tokenID: token.id))
    }
    let slot = try slotKey.withUnsafeBytes {
      try AESGCM.seal(
        $0, key: wrapKey,
        associatedData: CryptoContext.slot(
          vaultID: vaultIDHex, agentID: agentID, tokenID: token.id, notAfter: notAfter, scope: scope))
    }
    let credential = AgentCredential(
      id: token.id, display: token.display, secretHash: token.secretHash, notAfter: notAfter, retireAt: nil,
      sealedSlotKeyForOwner: sealedForOwner, slot: slot, grants: [])
    return (token, credential)
  }

  /// The slot key of a live credential, opened with the master key.
  func slotKey(of credential: AgentCredential, agentID: String) throws -> SecretBytes {
    guard let sealed = credential.sealedSlotKeyForOwner else {
      throw VaultError.integrity("agent token \(credential.id) has no slot key")
    }
    do {
      return try AESGCM.open(
        sealed, key: masterKey,
        associatedData: CryptoContext.slotKey(vaultID: vaultIDHex, agentID: agentID, tokenID: credential.id))
    } catch VaultCryptoError.authenticationFailure {
      throw VaultError.integrity("the slot key of agent token \(credential.id) does not decrypt")
    }
  }

  /// `credential` with its slot key sealed for the owner under this keyring's master key, after
  /// opening it with `source`'s: a token carried over from a version of the vault whose master
  /// key differs (a merge after member removal). The token's own slot is untouched.
  func resealed(_ credential: AgentCredential, agentID: String, from source: Keyring) throws -> AgentCredential {
    guard credential.isLive, !hasSameMasterKey(as: source) else { return credential }
    let slotKey = try source.slotKey(of: credential, agentID: agentID)
    var resealed = credential
    resealed.sealedSlotKeyForOwner = try slotKey.withUnsafeBytes {
      try AESGCM.seal(
        $0, key: masterKey,
        associatedData: CryptoContext.slotKey(vaultID: vaultIDHex, agentID: agentID, tokenID: credential.id))
    }
    return resealed
  }

  /// `key`'s data key sealed under a credential's slot key, bound to the agent's limits and to
  /// `endpoint`, the owner's base-URL override of the key's provider.
  func grant(
    _ key: ProviderKey, slotKey: SecretBytes, agent: AgentKey, credential: AgentCredential, endpoint: String?
  ) throws -> Grant {
    let dataKey = try dataKey(of: key)
    let sealed = try dataKey.withUnsafeBytes {
      try AESGCM.seal(
        $0, key: slotKey,
        associatedData: CryptoContext.grant(
          vaultID: vaultIDHex, agentID: agent.id, tokenID: credential.id, recordID: key.id,
          retireAt: credential.retireAt, policy: GrantPolicy(limits: agent.limits, endpoint: endpoint)))
    }
    return Grant(key: key.id, sealedDataKey: sealed)
  }

  /// `key` under a fresh data key, its value re-encrypted: what a revoked agent may have kept
  /// of the old data key then decrypts nothing written from now on.
  func rekeyed(_ key: ProviderKey) throws -> ProviderKey {
    let value = try open(key)
    let sealed = try seal(value: value, id: key.id, name: key.name)
    var rekeyed = key
    rekeyed.sealedDataKey = sealed.sealedDataKey
    rekeyed.sealedValue = sealed.sealedValue
    return rekeyed
  }
}

/// The agent's side: a token's slot key, opened without the passphrase, and the values of its
/// grants. Offline and with no slow KDF: the token carries 256 random bits, so HKDF suffices.
public final class AgentKeyring: Sendable {
  public let agent: AgentKey
  public let credential: AgentCredential
  private let vaultIDHex: String
  private let settings: VaultSettings
  private let slotKey: SecretBytes
  /// Each grant's position in `credential.grants` by provider key, built on first need (a token
  /// scoped to every key has thousands): `vault run` finds its grants in key order without it.
  private let grantIndex = Mutex<[RecordID: Int]?>(nil)

  /// The key that wraps a credential's slot key: HKDF-SHA256 of the token's secret, salted with
  /// the vault id, with the token id in `info`.
  static func slotWrapKey(secret: SecretBytes, vaultID: [UInt8], tokenID: String) throws -> SecretBytes {
    try HKDF.deriveKey(
      inputKeyMaterial: secret, salt: vaultID, info: CryptoContext.slotWrapInfo(tokenID: tokenID), length: 32)
  }

  /// Checks `token` against `agent`'s credential and opens its slot. Every refusal is "access
  /// not permitted" with its reason; a slot that does not open means the file was edited.
  public init(token: AgentToken, agent: AgentKey, header: VaultHeader, now: Timestamp) throws {
    guard let credential = agent.credentials.first(where: { $0.id == token.id }),
      constantTimeEquals(token.secretHash, credential.secretHash)
    else { throw VaultError.accessNotPermitted(.unknown) }
    if let revoked = agent.revoked { throw VaultError.accessNotPermitted(.revoked(on: revoked)) }
    guard now < credential.effectiveExpiry else {
      throw VaultError.accessNotPermitted(.expired(on: credential.effectiveExpiry))
    }
    guard let slot = credential.slot else {
      throw VaultError.accessNotPermitted(.expired(on: credential.effectiveExpiry))
    }
    let wrapKey = try Self.slotWrapKey(secret: token.secret, vaultID: header.id, tokenID: token.id)
    do {
      slotKey = try AESGCM.open(
        slot, key: wrapKey,
        associatedData: CryptoContext.slot(
          vaultID: header.idHex, agentID: agent.id, tokenID: token.id, notAfter: credential.notAfter, scope: agent.scope
        ))
    } catch VaultCryptoError.authenticationFailure {
      throw VaultError.integrity("agent key \(agent.name)'s slot does not verify: its expiry or scope was edited")
    }
    self.agent = agent
    self.credential = credential
    self.vaultIDHex = header.idHex
    self.settings = header.settings
  }

  /// The grant of provider key `id`, if this token has one.
  private func grant(of id: RecordID) -> Grant? {
    let position = grantIndex.withLock { index -> Int? in
      if index == nil {
        var built: [RecordID: Int] = [:]
        built.reserveCapacity(credential.grants.count)
        // The reader refuses a key granted twice; were one, its first grant would count.
        for (position, grant) in credential.grants.enumerated() where built[grant.key] == nil {
          built[grant.key] = position
        }
        index = built
      }
      return index?[id]
    }
    return position.map { credential.grants[$0] }
  }

  /// The record ids this token can read.
  public var grantedKeys: [RecordID] { credential.grants.map(\.key) }

  /// The data key of `key`, which must have a grant for this token.
  func dataKey(of key: ProviderKey) throws -> SecretBytes {
    guard let grant = grant(of: key.id) else {
      throw VaultError.permissionDenied("\(key.name) is outside agent key \(agent.name)'s scope")
    }
    return try open(grant, name: key.name, provider: key.provider)
  }

  /// Opens every grant of `keys` (their data keys are dropped at once), so `verify` reports only
  /// keys this token can really read, and a grant, grace end, limit or endpoint edited by hand
  /// is an error. A grant of a key with no line is an error too: the owner's writes never leave one.
  public func checkGrants(keys: [ProviderKey]) throws {
    let byID = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    for grant in credential.grants {
      guard let key = byID[grant.key] else {
        throw VaultError.integrity("agent key \(agent.name) holds a grant of a provider key that does not exist")
      }
      _ = try open(grant, name: key.name, provider: key.provider)
    }
  }

  /// The base URL the owner set for `provider`, as bound into this token's grants.
  public func endpoint(for provider: String?) -> String? { settings.endpoint(for: provider) }

  private func open(_ grant: Grant, name: String, provider: String?) throws -> SecretBytes {
    do {
      return try AESGCM.open(
        grant.sealedDataKey, key: slotKey,
        associatedData: CryptoContext.grant(
          vaultID: vaultIDHex, agentID: agent.id, tokenID: credential.id, recordID: grant.key,
          retireAt: credential.retireAt,
          policy: GrantPolicy(limits: agent.limits, endpoint: settings.endpoint(for: provider))))
    } catch VaultCryptoError.authenticationFailure {
      throw VaultError.integrity(
        "the grant of \(name) to agent key \(agent.name) does not decrypt: the file was edited")
    }
  }

  /// The values of `keys`, in order, each of which must have a grant for this token: the same
  /// checks and errors as `open(_:)` key by key, with, per run, one cipher context and one
  /// buffer for the associated data (`vault run` opens thousands). The grants have a context of
  /// their own: all are under the slot key, which is then set once for the run. A large batch
  /// runs in two halves at once (`BatchOpening`).
  public func open(_ keys: [ProviderKey]) throws -> [SecretBytes] {
    try open(keys, splittingFrom: BatchOpening.threshold)
  }

  /// `open(_:)`, split in two halves from `threshold` keys (tests split small batches).
  func open(_ keys: [ProviderKey], splittingFrom threshold: Int) throws -> [SecretBytes] {
    try BatchOpening.open(keys, threshold: threshold) { [self] run in try open(run: run) }
  }

  private func open(run keys: ArraySlice<ProviderKey>) throws -> [SecretBytes] {
    let grantOpener = try AESGCM.Opener()
    let valueOpener = try AESGCM.Opener()
    var contexts = CryptoContext.TokenContexts(
      vaultID: vaultIDHex, agentID: agent.id, tokenID: credential.id, retireAt: credential.retireAt,
      limits: agent.limits)
    var values: [SecretBytes] = []
    values.reserveCapacity(keys.count)
    // The owner writes grants in key order, and readable keys come in key order: the grant
    // expected next is tried first (for `--all`, the grant at the key's own position), and only
    // a key out of that order is looked up.
    let grants = credential.grants
    var next = keys.startIndex
    for key in keys {
      let grant: Grant
      if next < grants.count, grants[next].key == key.id {
        grant = grants[next]
        next += 1
      } else if let found = self.grant(of: key.id) {
        grant = found
      } else {
        throw VaultError.permissionDenied("\(key.name) is outside agent key \(agent.name)'s scope")
      }
      let dataKey: SecretBytes
      do {
        dataKey = try contexts.grant(recordID: grant.key, endpoint: settings.endpoint(for: key.provider)) {
          try grantOpener.open(grant.sealedDataKey, key: slotKey, associatedData: $0)
        }
      } catch VaultCryptoError.authenticationFailure {
        throw VaultError.integrity(
          "the grant of \(key.name) to agent key \(agent.name) does not decrypt: the file was edited")
      }
      do {
        values.append(
          try contexts.value(recordID: key.id, name: key.name) {
            try valueOpener.open(key.sealedValue, key: dataKey, associatedData: $0)
          })
      } catch VaultCryptoError.authenticationFailure {
        throw VaultError.integrity("provider key \(key.name) does not decrypt with agent key \(agent.name)")
      }
    }
    return values
  }

  /// The value of `key`, which must have a grant for this token.
  public func open(_ key: ProviderKey) throws -> SecretBytes {
    let dataKey = try dataKey(of: key)
    do {
      return try AESGCM.open(
        key.sealedValue, key: dataKey,
        associatedData: CryptoContext.value(vaultID: vaultIDHex, recordID: key.id, name: key.name))
    } catch VaultCryptoError.authenticationFailure {
      throw VaultError.integrity("provider key \(key.name) does not decrypt with agent key \(agent.name)")
    }
  }
}
