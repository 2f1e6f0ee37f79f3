/// One named provider key as stored: its metadata in clear, its value sealed twice over
/// (the value under its own data key, the data key under the master key).
public struct ProviderKey: Equatable, Sendable {
  /// The record's identity, bound into both of its ciphertexts.
  public var id: RecordID
  /// The key's name, e.g. `MY_API`: unique in the vault, environment-variable safe.
  public var name: String
  /// The provider it belongs to (`openai`), or nil when not linked yet.
  public var provider: String?
  /// The models it serves, in the order they were linked.
  public var models: [String]
  /// Extra variable names to inject it under, overriding the provider's conventional names.
  public var environmentNames: [String]
  /// The value's masked form (`sk-…xyz`), kept in clear so listing needs no passphrase.
  public var masked: String
  public var created: Timestamp
  public var updated: Timestamp
  /// `nonce || AES-256-GCM(master key, data key) || tag`.
  public var sealedDataKey: [UInt8]
  /// `nonce || AES-256-GCM(data key, value) || tag`.
  public var sealedValue: [UInt8]

  public init(
    id: RecordID, name: String, provider: String?, models: [String], environmentNames: [String], masked: String,
    created: Timestamp, updated: Timestamp, sealedDataKey: [UInt8], sealedValue: [UInt8]
  ) {
    self.id = id
    self.name = name
    self.provider = provider
    self.models = models
    self.environmentNames = environmentNames
    self.masked = masked
    self.created = created
    self.updated = updated
    self.sealedDataKey = sealedDataKey
    self.sealedValue = sealedValue
  }

  /// Whether `term` occurs, ignoring case, in the name, the provider or a model.
  public func matches(search term: String) -> Bool {
    let needle = term.lowercased()
    if name.lowercased().contains(needle) { return true }
    if let provider, provider.contains(needle) { return true }
    return models.contains { $0.lowercased().contains(needle) }
  }
}
