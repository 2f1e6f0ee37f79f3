/// The variables a run sets, from which key, and why: the same plan drives `vault run`,
/// `--dry-run` and `vault env`.
public struct InjectionPlan: Sendable {
  public struct Entry: Sendable {
    public var variable: String
    public var key: ProviderKey
    public var reason: String
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
    var owner: [String: ProviderKey] = [:]
    for choice in selected {
      let key = choice.key
      let conventional =
        ownNamesOnly
        ? []
        : key.environmentNames.isEmpty
          ? (key.provider.flatMap(ProviderCatalogue.provider(id:))?.variables ?? []) : key.environmentNames
      let why = key.environmentNames.isEmpty ? "\(key.provider ?? "?") SDK variable" : "the key's --env"
      for (variable, reason) in [(key.name, "its own name")] + conventional.map({ ($0, why) }) {
        // Checked again here: an agent cannot check the file's MAC, so a name edited into the
        // file by hand must still never reach the child.
        try Names.validateEnvironmentName(variable)
        if let other = owner[variable] {
          if other.id == key.id { continue }
          throw VaultError.injectionConflict(
            "\(variable) is claimed by both \(other.name) and \(key.name); choose one with --key \(other.name) or --key \(key.name)"
          )
        }
        owner[variable] = key
        entries.append(Entry(variable: variable, key: key, reason: "\(choice.reason); \(reason)"))
      }
    }
    self.entries = entries
  }
}
