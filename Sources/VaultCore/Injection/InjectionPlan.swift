/// The variables a run sets, from which key, and why: the same plan drives `vault run`,
/// `--dry-run` and `vault env`.
public struct InjectionPlan: Sendable {
  public struct Entry: Sendable {
    public var variable: String
    public var key: ProviderKey
    /// Why the key was selected, and why under this variable: joined only when shown
    /// (`--dry-run`), not for each of the thousands of entries a run sets.
    var selection: String
    var naming: String
    public var reason: String { "\(selection); \(naming)" }
  }

  public private(set) var entries: [Entry]

  /// The distinct keys the plan reads, in plan order. Worked out once: a run reads it to open
  /// the keys and again to record their use, a thousand keys each time.
  public let keys: [ProviderKey]

  /// Each key goes in under its own name and under its provider's variables (SDK and LiteLLM),
  /// or under its own `env` names instead of the provider's. Of several keys of one provider,
  /// only one takes the provider's variables: its default (`SelectedKey.isDefault`), or the
  /// only one selected; the others go in under their own names. Two keys that still claim one
  /// variable (two `--env` claims, or several keys of a provider without its default) are an
  /// error naming both, never a silent winner. `ownNamesOnly` (for `vault inject`, which refers
  /// to keys by name) leaves out the provider and `env` names.
  public init(_ selected: [SelectedKey], ownNamesOnly: Bool = false) throws {
    let holders = ownNamesOnly ? [:] : try Self.providerVariableHolders(selected)
    var entries: [Entry] = []
    entries.reserveCapacity(selected.count)
    // Each variable's claimant, by its index in `selected`.
    var owner: [String: Int] = [:]
    // Sized for each key's own name: growing it rehashes every name at each doubling.
    owner.reserveCapacity(selected.count)
    // The distinct keys of `entries` in entry order, gathered as they go in: a key's entries are
    // all made in its own turn of the loop.
    var keys: [ProviderKey] = []
    keys.reserveCapacity(selected.count)
    var seen = Set<RecordID>(minimumCapacity: selected.count)
    for (index, choice) in selected.enumerated() {
      let key = choice.key
      let entriesBefore = entries.count
      func claim(_ variable: String, _ naming: String) throws {
        // Checked again here: an agent cannot check the file's MAC, so a name edited into the
        // file by hand must still never reach the child.
        try Names.validateEnvironmentName(variable)
        // Claimed in one look-up; a variable already claimed gets its first claimant back.
        if let otherIndex = owner.updateValue(index, forKey: variable) {
          owner[variable] = otherIndex
          let other = selected[otherIndex].key
          if other.id == key.id { return }
          throw VaultError.injectionConflict(
            "\(variable) is claimed by both \(other.name) and \(key.name); choose one with --key \(other.name) or --key \(key.name), or give one other variables with 'vault edit \(key.name) --env NAME'"
          )
        }
        entries.append(Entry(variable: variable, key: key, selection: choice.reason, naming: naming))
      }
      let providerVariables = key.provider.flatMap(ProviderCatalogue.provider(id:))?.variables ?? []
      let takesProviderVariables = key.provider.map { holders[$0] == key.id } ?? false
      if !ownNamesOnly, key.environmentNames.isEmpty, !takesProviderVariables, let provider = key.provider,
        let first = providerVariables.first
      {
        try claim(key.name, "its own name only (not \(provider)'s default, which takes \(first))")
      } else {
        try claim(key.name, "its own name")
      }
      if !ownNamesOnly {
        if key.environmentNames.isEmpty {
          if takesProviderVariables {
            let why = "\(key.provider ?? "?") SDK variable"
            for variable in providerVariables { try claim(variable, why) }
          }
        } else {
          for variable in key.environmentNames { try claim(variable, "the key's --env") }
        }
      }
      if entries.count > entriesBefore, seen.insert(key.id).inserted { keys.append(key) }
    }
    self.entries = entries
    self.keys = keys
  }

  /// For each provider, the selected key that takes its variables: of the keys that would claim
  /// them (linked to a catalogued provider, no `env` names of their own), the provider's default,
  /// else the only one; several without the default are a conflict.
  private static func providerVariableHolders(_ selected: [SelectedKey]) throws -> [String: RecordID] {
    var claimants: [(provider: String, keys: [SelectedKey])] = []
    for choice in selected where choice.key.environmentNames.isEmpty {
      guard let provider = choice.key.provider, ProviderCatalogue.provider(id: provider) != nil else { continue }
      if let index = claimants.firstIndex(where: { $0.provider == provider }) {
        claimants[index].keys.append(choice)
      } else {
        claimants.append((provider, [choice]))
      }
    }
    var holders: [String: RecordID] = [:]
    for (provider, keys) in claimants {
      if let chosen = keys.first(where: \.isDefault) ?? (keys.count == 1 ? keys[0] : nil) {
        holders[provider] = chosen.key.id
        continue
      }
      let variable = ProviderCatalogue.provider(id: provider)?.variables.first ?? provider
      let (one, two) = (keys[0].key.name, keys[1].key.name)
      throw VaultError.injectionConflict(
        "\(variable) is claimed by both \(one) and \(two), and neither is \(provider)'s default; choose one with --key \(one) or --key \(two), make one the default with 'vault edit \(one) --default', or give one other variables with 'vault edit \(two) --env NAME'"
      )
    }
    return holders
  }
}
