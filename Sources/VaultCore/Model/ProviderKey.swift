/// One named provider key as stored: its metadata in clear, its value sealed twice over
/// (the value under its own data key, the data key under the master key).
///
/// A value type whose fields sit in one immutable box that copies share: `vault run` passes
/// each of a thousand keys through selection, the injection plan and the opener, and a copy is
/// then one reference count, not one per string and array. Changing a field makes a new box
/// (keys are changed rarely, read often).
///
/// A key read from a file also keeps its line's bytes (a slice of the file's buffer, no copy),
/// which the reader has checked to be exactly what the writer makes of these fields: the
/// writer copies them instead of encoding the key again (a save of 10,000 keys, most of them
/// unchanged). The line sits in the box, not among the fields, so any change of a field, which
/// makes a new box, drops it.
public struct ProviderKey: Equatable, Sendable {
  /// The record's identity, bound into both of its ciphertexts.
  public var id: RecordID {
    get { box.fields.id }
    set { change { $0.id = newValue } }
  }

  /// The key's name, e.g. `MY_API`: unique in the vault, environment-variable safe.
  public var name: String {
    get { box.fields.name }
    set { change { $0.name = newValue } }
  }

  /// The provider it belongs to (`openai`), or nil when not linked yet.
  public var provider: String? {
    get { box.fields.provider }
    set { change { $0.provider = newValue } }
  }

  /// The models it serves, in the order they were linked.
  public var models: [String] {
    get { box.fields.models }
    set { change { $0.models = newValue } }
  }

  /// Extra variable names to inject it under, overriding the provider's conventional names.
  public var environmentNames: [String] {
    get { box.fields.environmentNames }
    set { change { $0.environmentNames = newValue } }
  }

  /// The value's masked form (`sk-…xyz`), kept in clear so listing needs no passphrase.
  public var masked: String {
    get { box.fields.masked }
    set { change { $0.masked = newValue } }
  }

  public var created: Timestamp {
    get { box.fields.created }
    set { change { $0.created = newValue } }
  }

  public var updated: Timestamp {
    get { box.fields.updated }
    set { change { $0.updated = newValue } }
  }

  /// `nonce || AES-256-GCM(master key, data key) || tag`.
  public var sealedDataKey: [UInt8] {
    get { box.fields.sealedDataKey }
    set { change { $0.sealedDataKey = newValue } }
  }

  /// `nonce || AES-256-GCM(data key, value) || tag`.
  public var sealedValue: [UInt8] {
    get { box.fields.sealedValue }
    set { change { $0.sealedValue = newValue } }
  }

  public init(
    id: RecordID, name: String, provider: String?, models: [String], environmentNames: [String], masked: String,
    created: Timestamp, updated: Timestamp, sealedDataKey: [UInt8], sealedValue: [UInt8]
  ) {
    self.init(
      id: id, name: name, provider: provider, models: models, environmentNames: environmentNames, masked: masked,
      created: created, updated: updated, sealedDataKey: sealedDataKey, sealedValue: sealedValue, line: nil)
  }

  /// A key read from a file, with its line (without the separating comma): `line` must be
  /// exactly the writer's encoding of the other arguments, as the strict reader ensures. Nil
  /// for a key made in this process.
  init(
    id: RecordID, name: String, provider: String?, models: [String], environmentNames: [String], masked: String,
    created: Timestamp, updated: Timestamp, sealedDataKey: [UInt8], sealedValue: [UInt8], line: ArraySlice<UInt8>?
  ) {
    box = Box(
      Fields(
        id: id, name: name, provider: provider, models: models, environmentNames: environmentNames, masked: masked,
        created: created, updated: updated, sealedDataKey: sealedDataKey, sealedValue: sealedValue),
      line: line)
  }

  /// The line this key was read from, while no field has changed since; nil for a key made or
  /// changed in this process.
  var encodedLine: ArraySlice<UInt8>? { box.line }

  /// Whether `term` occurs, ignoring case, in the name, the provider or a model.
  public func matches(search term: String) -> Bool {
    let needle = term.lowercased()
    if name.lowercased().contains(needle) { return true }
    if let provider, provider.contains(needle) { return true }
    return models.contains { $0.lowercased().contains(needle) }
  }

  public static func == (left: ProviderKey, right: ProviderKey) -> Bool {
    left.box === right.box || left.box.fields == right.box.fields
  }

  private var box: Box

  private mutating func change(_ body: (inout Fields) -> Void) {
    var fields = box.fields
    body(&fields)
    box = Box(fields, line: nil)
  }

  private struct Fields: Equatable, Sendable {
    var id: RecordID
    var name: String
    var provider: String?
    var models: [String]
    var environmentNames: [String]
    var masked: String
    var created: Timestamp
    var updated: Timestamp
    var sealedDataKey: [UInt8]
    var sealedValue: [UInt8]
  }

  /// Immutable, so reading a field needs no exclusivity check and sharing needs no lock.
  private final class Box: Sendable {
    let fields: Fields
    /// The file's bytes for exactly these fields, when they were read from a file.
    let line: ArraySlice<UInt8>?

    init(_ fields: Fields, line: ArraySlice<UInt8>?) {
      self.fields = fields
      self.line = line
    }
  }
}
