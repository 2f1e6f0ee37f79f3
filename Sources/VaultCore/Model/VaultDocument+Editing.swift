import VaultCrypto

/// The changes a command can make to an unlocked document. Each checks its inputs first and
/// changes nothing when it throws.
extension VaultDocument {
  /// Adds a new provider key.
  public mutating func addKey(
    name: String, value: SecretBytes, provider: String?, models: [String], environmentNames: [String],
    keyring: Keyring, now: Timestamp
  ) throws {
    try Names.validateKeyName(name)
    guard index(of: name) == nil else { throw VaultError.keyExists(name: name) }
    let provider = try provider.map(Names.normalizedProvider)
    let models = try Self.checkedModels(models)
    let environmentNames = try Self.checkedEnvironmentNames(environmentNames)
    try Self.checkCounts(models: models, environmentNames: environmentNames)
    let id = try RecordID.random()
    let sealed = try keyring.seal(value: value, id: id, name: name)
    keys.append(
      ProviderKey(
        id: id, name: name, provider: provider, models: models, environmentNames: environmentNames,
        masked: SecretValue.masked(value), created: now, updated: now, sealedDataKey: sealed.sealedDataKey,
        sealedValue: sealed.sealedValue))
  }

  /// Renames the key `name` to `newName`, re-sealing its value for the new name.
  public mutating func renameKey(_ name: String, to newName: String, keyring: Keyring, now: Timestamp) throws {
    try Names.validateKeyName(newName)
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    guard newName != name else { return }
    guard index(of: newName) == nil else { throw VaultError.keyExists(name: newName) }
    keys[position] = try keyring.renamed(keys[position], to: newName)
    keys[position].updated = now
  }

  /// Replaces the value of `name` under a fresh data key.
  public mutating func setValue(of name: String, to value: SecretBytes, keyring: Keyring, now: Timestamp) throws {
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    let sealed = try keyring.seal(value: value, id: keys[position].id, name: name)
    keys[position].sealedDataKey = sealed.sealedDataKey
    keys[position].sealedValue = sealed.sealedValue
    keys[position].masked = SecretValue.masked(value)
    keys[position].updated = now
    // A new data key: grants of the old one are stale; maintainAgents grants the new one.
    dropGrants(for: [keys[position].id])
  }

  /// Sets or clears (nil) the provider of `name`.
  public mutating func setProvider(of name: String, to provider: String?, now: Timestamp) throws {
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    let normalized = try provider.map(Names.normalizedProvider)
    if normalized != keys[position].provider {
      // Grants bind the provider's endpoint: seal them again (maintainAgents) under the new one.
      dropGrants(for: [keys[position].id])
    }
    let before = keys[position]
    keys[position].provider = normalized
    keys[position].updated = now
    joinProviderVariables(position, before: before)
  }

  /// Keeps the default-key rule (docs/FORMAT.md, "Default keys"): a key that starts to go in
  /// under a provider's variables (a new provider, or its own `env` names cleared) moves to the
  /// end of `keys`, so it never takes over as the provider's default by accident.
  private mutating func joinProviderVariables(_ position: Int, before: ProviderKey) {
    let key = keys[position]
    guard key.provider != nil, key.environmentNames.isEmpty,
      key.provider != before.provider || !before.environmentNames.isEmpty
    else { return }
    keys.append(keys.remove(at: position))
  }

  /// The default key of `provider` (`KeySelection.defaults`), if it has one.
  public func defaultKey(of provider: String) -> ProviderKey? {
    KeySelection.defaults(in: keys)[provider].flatMap { id in keys.first { $0.id == id } }
  }

  /// Makes `name` its provider's default by moving it to the position of the current default;
  /// the other keys keep their order. Returns the previous default's name (nil when `name` was
  /// the default already).
  @discardableResult
  public mutating func makeDefault(_ name: String) throws -> String? {
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    guard let provider = keys[position].provider else {
      throw VaultError.invalidInput(
        "\(name) is linked to no provider, so it cannot be a provider's default; link it with 'vault edit \(name) --provider P'"
      )
    }
    guard keys[position].environmentNames.isEmpty else {
      throw VaultError.invalidInput(
        "\(name) goes in under its own --env names, never under \(provider)'s variables, so it cannot be the default; 'vault edit \(name) --clear-env --default'"
      )
    }
    guard let current = defaultKey(of: provider).flatMap({ index(of: $0.name) }), current != position else {
      return nil
    }
    let previous = keys[current].name
    let key = keys.remove(at: position)
    keys.insert(key, at: current)
    return previous
  }

  /// Replaces the extra variable names of `name`.
  public mutating func setEnvironmentNames(of name: String, to names: [String], now: Timestamp) throws {
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    let names = try Self.checkedEnvironmentNames(names)
    try Self.checkCounts(models: keys[position].models, environmentNames: names)
    let before = keys[position]
    keys[position].environmentNames = names
    keys[position].updated = now
    joinProviderVariables(position, before: before)
  }

  /// Links models and variable names to `name`; linking one already linked is a no-op.
  public mutating func link(_ name: String, models: [String], environmentNames: [String], now: Timestamp) throws {
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    let models = try Self.checkedModels(models)
    let environmentNames = try Self.checkedEnvironmentNames(environmentNames)
    var key = keys[position]
    for model in models where !key.models.contains(model) { key.models.append(model) }
    for variable in environmentNames where !key.environmentNames.contains(variable) {
      key.environmentNames.append(variable)
    }
    try Self.checkCounts(models: key.models, environmentNames: key.environmentNames)
    key.updated = now
    keys[position] = key
  }

  /// Unlinks models and variable names from `name`; each must be linked.
  public mutating func unlink(_ name: String, models: [String], environmentNames: [String], now: Timestamp) throws {
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    for model in models where !keys[position].models.contains(model) {
      throw VaultError.invalidInput("\(name) is not linked to model \(model)")
    }
    for variable in environmentNames where !keys[position].environmentNames.contains(variable) {
      throw VaultError.invalidInput("\(name) is not linked to variable \(variable)")
    }
    let before = keys[position]
    keys[position].models.removeAll { models.contains($0) }
    keys[position].environmentNames.removeAll { environmentNames.contains($0) }
    keys[position].updated = now
    joinProviderVariables(position, before: before)
  }

  /// Deletes the key `name`.
  public mutating func removeKey(_ name: String) throws {
    guard let position = index(of: name) else { throw VaultError.keyNotFound(name: name) }
    dropGrants(for: [keys[position].id])
    keys.remove(at: position)
  }

  /// Refuses more models or variable names on one key than the format allows.
  static func checkCounts(models: [String], environmentNames: [String]) throws {
    guard models.count <= RecordLimits.maximumModelsPerKey else {
      throw VaultError.invalidInput("a provider key links at most \(RecordLimits.maximumModelsPerKey) models")
    }
    guard environmentNames.count <= RecordLimits.maximumEnvironmentNamesPerKey else {
      throw VaultError.invalidInput(
        "a provider key has at most \(RecordLimits.maximumEnvironmentNamesPerKey) variable names (--env)")
    }
  }

  private static func checkedModels(_ models: [String]) throws -> [String] {
    var unique: [String] = []
    for model in models {
      try Names.validateModel(model)
      if !unique.contains(model) { unique.append(model) }
    }
    return unique
  }

  private static func checkedEnvironmentNames(_ names: [String]) throws -> [String] {
    var unique: [String] = []
    for name in names {
      try PastedSecret.refuse(name, as: "environment variable")
      try Names.validateEnvironmentName(name)
      if !unique.contains(name) { unique.append(name) }
    }
    return unique
  }
}
