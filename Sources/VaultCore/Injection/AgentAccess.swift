import VaultCrypto

/// What an agent key can reach, opened once: the walk `vault run` (with an agent key) and the
/// gateway both take, token -> opened slot -> readable keys -> the keys a request selects. The
/// command line and the gateway differ only in what they do with the selected keys.
public final class AgentAccess: Sendable {
  public let session: AgentSession
  /// The provider keys this token can read, in file order.
  public let readableKeys: [ProviderKey]

  public init(store: VaultStore, token: AgentToken, now: Timestamp) throws {
    session = try store.openAgent(token: token, now: now)
    readableKeys = try session.grantedKeys()
  }

  public var agent: AgentKey { session.agent }
  public var expires: Timestamp { session.keyring.credential.effectiveExpiry }

  /// `vault run`'s selection. Without selectors, every readable key; with them, selectors are
  /// resolved against every key's metadata, as the passphrase would resolve them, so a model
  /// linked to a key outside the scope is "permission denied", never quietly another key.
  public func select(_ selectors: KeySelectors) throws -> [SelectedKey] {
    guard !selectors.isEmpty else { return KeySelection.every(readableKeys, byPassphrase: false) }
    return try KeySelection.select(
      from: try session.allKeyNames(), readable: Set(readableKeys.map(\.id)), selectors: selectors)
  }

  /// The gateway's selection for one request to `provider` naming `model` (if any): the key
  /// linked to the model if this token can read it, else the provider's default inside the
  /// token's scope (`KeySelection.defaults`: the rule `vault run` follows too).
  /// A key readable only through a `--model` scope serves only that scope's models. `allKeys`
  /// gives every key's metadata, parsed only when needed.
  public func key(forProvider provider: String, model: String?, allKeys: () throws -> [ProviderKey]) throws
    -> ProviderKey
  {
    let name = agent.name
    let scope = agent.scope
    // The scope's default first, then the provider's other readable keys in file order.
    let ofProvider = readableKeys.filter { $0.provider == provider }
    let defaultID = KeySelection.defaults(in: readableKeys)[provider]
    let candidates = ofProvider.filter { $0.id == defaultID } + ofProvider.filter { $0.id != defaultID }
    guard !candidates.isEmpty else {
      throw VaultError.permissionDenied("provider \(provider) is outside agent key \(name)'s scope")
    }
    func broad(_ key: ProviderKey) -> Bool {
      scope.all || scope.keys.contains(key.id) || scope.providers.contains(provider)
    }
    guard let model else {
      // A request that names no model (multipart, batches, a body it cannot read) may use only
      // a key the scope grants whole: a model scope would otherwise cover every model.
      if let key = candidates.first(where: broad) { return key }
      throw VaultError.permissionDenied(
        "agent key \(name) may use only the models of its scope, and this request names none")
    }
    let linked = candidates.filter { $0.models.contains(model) }
    if linked.isEmpty, try allKeys().contains(where: { $0.provider == provider && $0.models.contains(model) }) {
      throw VaultError.permissionDenied(
        "model \(model) is linked to a provider key outside agent key \(name)'s scope")
    }
    // Linked keys first, then the rest, each the default first; the first that may serve this
    // model wins.
    for key in linked + candidates.filter({ !$0.models.contains(model) })
    where broad(key) || scope.models.contains(model) {
      return key
    }
    throw VaultError.permissionDenied("model \(model) is outside agent key \(name)'s scope")
  }

  /// The provider a request's model routes to (the `/v1` route): the provider of a key linked
  /// to it, else its family's.
  public func provider(forModel model: String, allKeys: [ProviderKey]) throws -> String {
    if let linked = allKeys.first(where: { $0.models.contains(model) }), let provider = linked.provider {
      return provider
    }
    if let provider = ProviderCatalogue.provider(forModel: model) { return provider }
    throw VaultError.permissionDenied("no provider key is linked to model \(model)")
  }

  /// The value of a readable key.
  public func open(_ key: ProviderKey) throws -> SecretBytes { try session.keyring.open(key) }

  /// The values of readable keys, by id (one cipher context for the batch).
  public func open(_ keys: [ProviderKey]) throws -> [RecordID: SecretBytes] {
    let values = try session.keyring.open(keys)
    return Dictionary(zip(keys.map(\.id), values), uniquingKeysWith: { first, _ in first })
  }

  /// The owner's base URL for `provider`, as the grants bind it.
  public func endpoint(for provider: String?) -> String? { session.keyring.endpoint(for: provider) }
}
