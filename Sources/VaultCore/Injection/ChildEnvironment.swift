/// The environment a child gets: the inherited one (or a minimal one with `--clean-env`),
/// without vault's own credentials, plus the plan's values.
public enum ChildEnvironment {
  /// What `--clean-env` keeps.
  public static let minimalVariables = ["PATH", "HOME", "USER", "LANG", "TERM", "TZ"]
  /// Never passed on: they would hand the child the keys to the whole vault. Every credential
  /// variable, from the one list.
  public static let removedVariables = CredentialVariable.allCases.map(\.name)

  public struct Options: Sendable {
    public var clean = false
    /// Keep an inherited value instead of the vault's.
    public var keepInherited = false

    public init(clean: Bool = false, keepInherited: Bool = false) {
      self.clean = clean
      self.keepInherited = keepInherited
    }
  }

  /// The child's variables as `NAME=value` byte strings, and the plan entries skipped because
  /// `keepInherited` kept an inherited value. The caller wipes them (`wipe`) once the child has
  /// them.
  public static func build(
    inherited: [String: String], plan: InjectionPlan, values: [RecordID: SecretBytes], options: Options
  ) -> (variables: [[UInt8]], kept: [String]) {
    build(inherited: inherited, injection: Injection(plan: plan, values: values), options: options)
  }

  /// The same from an injection already resolved.
  public static func build(inherited: [String: String], injection: Injection, options: Options) -> (
    variables: [[UInt8]], kept: [String]
  ) {
    var base = inherited
    if options.clean { base = base.filter { minimalVariables.contains($0.key) } }
    for name in removedVariables { base[name] = nil }
    // A plan claims each variable once (InjectionPlan refuses a second claimant), so the
    // injected variables need no dictionary: a list in plan order, sorted once. A nil value
    // (a key not opened) still replaces the inherited variable, and is not set.
    var injected: [(name: String, value: SecretBytes?)] = []
    injected.reserveCapacity(injection.variables.count)
    var kept: [String] = []
    for variable in injection.variables {
      if options.keepInherited, base[variable.name] != nil {
        kept.append(variable.name)
        continue
      }
      injected.append((variable.name, injection.value(of: variable)))
    }
    injected.sort { $0.name < $1.name }
    // The inherited variables, sorted, without those the plan sets: one walk along both lists.
    var variables: [[UInt8]] = []
    variables.reserveCapacity(base.count + injected.count)
    var next = 0
    for (name, value) in base.sorted(by: { $0.key < $1.key }) {
      while next < injected.count, injected[next].name < name { next += 1 }
      if next < injected.count, injected[next].name == name { continue }
      variables.append(Array("\(name)=\(value)".utf8))
    }
    for (name, value) in injected {
      guard let value else { continue }
      // Built in place at its final size: no temporary copy of the value is freed unwiped.
      var entry = [UInt8]()
      entry.reserveCapacity(name.utf8.count + 1 + value.count)
      entry += name.utf8
      entry.append(UInt8(ascii: "="))
      // Typed, so the value is appended in one copy rather than byte by byte.
      value.withUnsafeBytes { entry.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) }
      variables.append(entry)
    }
    return (variables, kept)
  }

  /// Zeroes every variable in place (they hold values), then empties the list.
  public static func wipe(_ variables: inout [[UInt8]]) {
    for index in variables.indices {
      variables[index].withUnsafeMutableBytes { raw in
        for offset in raw.indices { raw[offset] = 0 }
      }
    }
    variables = []
  }
}
