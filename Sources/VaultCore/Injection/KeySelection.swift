/// Which provider keys a run gets: every readable key, or those the selectors name. Each
/// chosen key comes with the reason it was chosen, for `--dry-run`.
public struct KeySelectors: Sendable {
  public var keys: [String]
  public var providers: [String]
  public var models: [String]

  public init(keys: [String] = [], providers: [String] = [], models: [String] = []) {
    self.keys = keys
    self.providers = providers
    self.models = models
  }

  public var isEmpty: Bool { keys.isEmpty && providers.isEmpty && models.isEmpty }
}

public struct SelectedKey: Sendable {
  public var key: ProviderKey
  public var reason: String
  /// Whether the key is its provider's default among the keys the credential can read
  /// (`KeySelection.defaults`): the one that takes the provider's variables.
  public var isDefault: Bool

  public init(key: ProviderKey, reason: String, isDefault: Bool = false) {
    self.key = key
    self.reason = reason
    self.isDefault = isDefault
  }
}

public enum KeySelection {
  /// Each provider's default key among `keys` (in file order): the first key of that provider
  /// that goes in under the provider's variables (one with `env` names of its own never does).
  /// The file's key order is the only record of it (docs/FORMAT.md, "Default keys"); for an
  /// agent key, pass the keys it can read and this is the default inside its scope.
  public static func defaults(in keys: [ProviderKey]) -> [String: RecordID] {
    var defaults: [String: RecordID] = [:]
    for key in keys where key.environmentNames.isEmpty {
      if let provider = key.provider, defaults[provider] == nil { defaults[provider] = key.id }
    }
    return defaults
  }

  /// Whether `key` is its provider's default among `keys`.
  public static func isDefault(_ key: ProviderKey, in keys: [ProviderKey]) -> Bool {
    guard let provider = key.provider else { return false }
    return defaults(in: keys)[provider] == key.id
  }

  /// Chooses from `keys` (all provider keys in the vault). `readable` is nil for the owner
  /// (everything) or the ids an agent key may read: a selector that matches only keys outside
  /// it is "permission denied"; one that matches nothing at all is "not found".
  public static func select(from keys: [ProviderKey], readable: Set<RecordID>?, selectors: KeySelectors) throws
    -> [SelectedKey]
  {
    func canRead(_ key: ProviderKey) -> Bool { readable?.contains(key.id) ?? true }
    guard !selectors.isEmpty else {
      return readable == nil ? every(keys, byPassphrase: true) : every(keys.filter(canRead), byPassphrase: false)
    }
    let defaults = Set(defaults(in: keys.filter(canRead)).values)
    var chosen: [SelectedKey] = []
    func add(_ matches: [ProviderKey], reason: String, what: String) throws {
      guard !matches.isEmpty else { throw VaultError.keyNotFound(name: what) }
      let allowed = matches.filter(canRead)
      guard !allowed.isEmpty else {
        throw VaultError.permissionDenied("\(what) is outside the agent key's scope")
      }
      for key in allowed where !chosen.contains(where: { $0.key.id == key.id }) {
        chosen.append(SelectedKey(key: key, reason: reason, isDefault: defaults.contains(key.id)))
      }
    }
    for name in selectors.keys {
      try Names.validateLookupName(name)
      try add(keys.filter { $0.name == name }, reason: "--key \(name)", what: name)
    }
    for provider in selectors.providers {
      try add(keys.filter { $0.provider == provider }, reason: "--provider \(provider)", what: "provider \(provider)")
    }
    for model in selectors.models {
      let linked = keys.filter { $0.models.contains(model) }
      if !linked.isEmpty {
        try add(linked, reason: "--model \(model) (linked)", what: "model \(model)")
      } else if let provider = ProviderCatalogue.provider(forModel: model) {
        try add(
          keys.filter { $0.provider == provider },
          reason: "--model \(model) (provider \(provider) by the model name; no key is linked to it)",
          what: "model \(model) (provider \(provider))")
      } else {
        throw VaultError.keyNotFound(name: "model \(model)")
      }
    }
    return chosen
  }

  /// The selection without selectors: every key of `readableKeys`, which the credential can all
  /// read (an agent's readable keys need no second check against its scope).
  static func every(_ readableKeys: [ProviderKey], byPassphrase: Bool) -> [SelectedKey] {
    let defaults = Set(defaults(in: readableKeys).values)
    let reason = byPassphrase ? "every key (passphrase)" : "in the agent key's scope"
    // Only a key linked to a provider can be a default (ids are unique among the keys a vault
    // or an agent session gives), so most keys of a large vault need no look-up.
    return readableKeys.map { key in
      SelectedKey(key: key, reason: reason, isDefault: key.provider != nil && defaults.contains(key.id))
    }
  }
}
