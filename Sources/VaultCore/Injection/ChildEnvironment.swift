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

  /// The child's environment, and the plan entries skipped because `keepInherited` kept an
  /// inherited value. The caller wipes it (`EnvironmentBlock.wipe`) once the child has it.
  public static func build(
    inherited: [String: String], plan: InjectionPlan, values: [RecordID: SecretBytes], options: Options
  ) -> (environment: EnvironmentBlock, kept: [String]) {
    build(inherited: inherited, injection: Injection(plan: plan, values: values), options: options)
  }

  /// The same from an injection already resolved.
  public static func build(inherited: [String: String], injection: Injection, options: Options) -> (
    environment: EnvironmentBlock, kept: [String]
  ) {
    let variables = injection.variables
    return build(
      inherited: inherited, count: variables.count, name: { variables[$0].name },
      value: { injection.value(of: variables[$0]) }, options: options)
  }

  /// The same for variables given by name and value (the gateway's session variables).
  public static func build(
    inherited: [String: String], variables: [(name: String, value: SecretBytes)], options: Options
  ) -> (environment: EnvironmentBlock, kept: [String]) {
    build(
      inherited: inherited, count: variables.count, name: { variables[$0].name }, value: { variables[$0].value },
      options: options)
  }

  /// Variable `i` (of `count`) is `name(i)`, set to `value(i)`.
  private static func build(
    inherited: [String: String], count: Int, name: (Int) -> String, value: (Int) -> SecretBytes?, options: Options
  ) -> (environment: EnvironmentBlock, kept: [String]) {
    var base = inherited
    if options.clean { base = base.filter { minimalVariables.contains($0.key) } }
    for name in removedVariables { base[name] = nil }
    // A plan claims each variable once (InjectionPlan refuses a second claimant), so the
    // injected variables need no dictionary and no sort: they follow the inherited ones in plan
    // order. Only an inherited variable of the same name (byte for byte) is looked up, to be
    // dropped (or kept, with `keepInherited`), and only for a name as long as, and starting like,
    // one inherited: a thousand look-ups by name were a tenth of a cached launch. A nil value (a
    // key not opened) still replaces the inherited variable, and is not set.
    let inheritedShapes = NameShapes(base.keys)
    var injected: [Int] = []
    injected.reserveCapacity(count)
    var kept: [String] = []
    for index in 0..<count {
      let variable = name(index)
      // The same bytes, not only the same text: a dictionary of strings takes "\u{212A}EY" (a
      // Kelvin sign) for "KEY", a variable the child sees apart.
      if inheritedShapes.mayContain(variable), let same = base.index(forKey: variable),
        base[same].key.utf8.elementsEqual(variable.utf8)
      {
        if options.keepInherited {
          kept.append(variable)
          continue
        }
        base.remove(at: same)
      }
      injected.append(index)
    }
    let passed = base.sorted(by: { $0.key < $1.key })
    // Measured first, then written in place at its final size: one block, no copy per entry.
    var entryCount = passed.count
    var byteCount = 0
    for (key, text) in passed { byteCount += EnvironmentBlock.byteCount(name: key, valueByteCount: text.utf8.count) }
    for index in injected {
      guard let value = value(index) else { continue }
      entryCount += 1
      byteCount += EnvironmentBlock.byteCount(name: name(index), valueByteCount: value.count)
    }
    let environment = EnvironmentBlock(count: entryCount, byteCount: byteCount)
    for (key, text) in passed {
      var text = text
      text.withUTF8 { environment.append(name: key, value: UnsafeRawBufferPointer($0)) }
    }
    for index in injected {
      value(index)?.withUnsafeBytes { environment.append(name: name(index), value: $0) }
    }
    return (environment, kept)
  }

  /// The lengths and first bytes of a set of names, for a test that says no to most names
  /// outside the set with no hashing: a name can be in the set only if some name of the set has
  /// its first byte and its length (modulo 64).
  private struct NameShapes {
    private var lengthsByFirstByte = [UInt64](repeating: 0, count: 256)

    init(_ names: some Sequence<String>) {
      for name in names {
        guard let first = name.utf8.first else { continue }
        lengthsByFirstByte[Int(first)] |= 1 << UInt64(name.utf8.count & 63)
      }
    }

    func mayContain(_ name: String) -> Bool {
      guard let first = name.utf8.first else { return true }
      return lengthsByFirstByte[Int(first)] & (1 << UInt64(name.utf8.count & 63)) != 0
    }
  }
}
