import VaultCrypto

/// What a launch puts into a child's environment, resolved: each variable with the key it
/// carries, and each key's id, name, masked form and value. `vault run`, `env`, `inject` and
/// `get` build the child's environment, the masks, their output and the usage record from it.
/// A launch served from the run cache gets it straight from the record, with no `ProviderKey`,
/// plan or look-up by id per key: at 1,000 keys those were most of what the cache left.
public struct Injection: Sendable {
  public struct Key: Sendable {
    public let id: RecordID
    private let text: Text
    /// nil when not opened (`--dry-run`).
    public let value: SecretBytes?

    public init(id: RecordID, name: String, masked: String, value: SecretBytes?) {
      self.id = id
      text = .strings(name: name, masked: masked)
      self.value = value
    }

    /// A key read from a run cache record, whose name and masked form are made into strings only
    /// when asked for: a plain `vault run` never reads them, and making a thousand of each was
    /// 0.45 M of the 7.0 M instructions of a cached launch (callgrind, bench/README.md, "Ninth
    /// round").
    init(id: RecordID, record: SecretBytes, name: Range<Int>, masked: Range<Int>, value: SecretBytes?) {
      // Read through unchecked slices later: checked here, once.
      precondition(
        name.lowerBound >= 0 && masked.lowerBound >= 0 && max(name.upperBound, masked.upperBound) <= record.count,
        "a key's text past its record")
      self.id = id
      text = .record(record, name: name, masked: masked)
      self.value = value
    }

    public var name: String {
      switch text {
      case .strings(let name, _): return name
      case .record(let record, let name, _): return Text.string(record, name)
      }
    }

    /// The value's display form, which `--mask` writes in its place.
    public var masked: String {
      switch text {
      case .strings(_, let masked): return masked
      case .record(let record, _, let masked): return Text.string(record, masked)
      }
    }

    private enum Text: Sendable {
      case strings(name: String, masked: String)
      /// Where the two lie in a run cache record's plaintext (UTF-8, repaired when read).
      case record(SecretBytes, name: Range<Int>, masked: Range<Int>)

      static func string(_ record: SecretBytes, _ range: Range<Int>) -> String {
        record.withUnsafeBytes { String(decoding: $0[range], as: UTF8.self) }
      }
    }
  }

  public struct Variable: Sendable {
    public let name: String
    /// Its key's position in `keys`.
    public let key: Int

    public init(name: String, key: Int) {
      self.name = name
      self.key = key
    }
  }

  /// The distinct keys: in plan order, or in order of id when read from the run cache.
  public let keys: [Key]
  /// Each variable once, in plan order.
  public let variables: [Variable]

  init(keys: [Key], variables: [Variable]) {
    self.keys = keys
    self.variables = variables
  }

  /// `plan` with the `values` opened for it (by key id; a key without one has a nil value).
  public init(plan: InjectionPlan, values: [RecordID: SecretBytes]) {
    var position: [RecordID: Int] = [:]
    position.reserveCapacity(plan.keys.count)
    var keys: [Key] = []
    keys.reserveCapacity(plan.keys.count)
    for key in plan.keys {
      position[key.id] = keys.count
      keys.append(Key(id: key.id, name: key.name, masked: key.masked, value: values[key.id]))
    }
    self.keys = keys
    variables = plan.entries.map { Variable(name: $0.variable, key: position[$0.key.id]!) }
  }

  /// The value a variable carries.
  public func value(of variable: Variable) -> SecretBytes? { keys[variable.key].value }
}
