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

  public var entries: [Entry]

  /// The distinct keys the plan reads, in plan order.
  public var keys: [ProviderKey] {
    var seen = Set<RecordID>()
    return entries.map(\.key).filter { seen.insert($0.id).inserted }
  }

  /// Each key goes in under its own name and under its provider's variables (SDK and LiteLLM),
  /// or under its own `env` names instead of the provider's. Two keys that claim one variable
  /// are an error naming both, never a silent winner. `ownNamesOnly` (for `vault inject`, which
  /// refers to keys by name) leaves out the provider and `env` names.
  public init(_ selected: [SelectedKey], ownNamesOnly: Bool = false) throws {
    var entries: [Entry] = []
    entries.reserveCapacity(selected.count)
    // Each variable's claimant, by its index in `selected`.
    var owner: [String: Int] = [:]
    for (index, choice) in selected.enumerated() {
      let key = choice.key
      func claim(_ variable: String, _ naming: String) throws {
        // Checked again here: an agent cannot check the file's MAC, so a name edited into the
        // file by hand must still never reach the child.
        try Names.validateEnvironmentName(variable)
        if let otherIndex = owner[variable] {
          let other = selected[otherIndex].key
          if other.id == key.id { return }
          throw VaultError.injectionConflict(
            "\(variable) is claimed by both \(other.name) and \(key.name); choose one with --key \(other.name) or --key \(key.name)"
          )
        }
        owner[variable] = index
        entries.append(Entry(variable: variable, key: key, selection: choice.reason, naming: naming))
      }
      try claim(key.name, "its own name")
      if ownNamesOnly { continue }
      if key.environmentNames.isEmpty {
        let variables = key.provider.flatMap(ProviderCatalogue.provider(id:))?.variables ?? []
        if !variables.isEmpty {
          let why = "\(key.provider ?? "?") SDK variable"
          for variable in variables { try claim(variable, why) }
        }
      } else {
        for variable in key.environmentNames { try claim(variable, "the key's --env") }
      }
    }
    self.entries = entries
  }
}
