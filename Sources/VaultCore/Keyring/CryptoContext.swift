/// The associated-data and HKDF info strings of format version 1. Each names its purpose and
/// the version, so no key or ciphertext can stand in for another (docs/FORMAT.md, "Contexts").
/// Ids are 32 lowercase hex digits and names are `[A-Za-z0-9_]`, so `|` cannot occur inside
/// a field and the joined string is unambiguous.
enum CryptoContext {
  static func masterKey(vaultID: String) -> [UInt8] {
    Array("llm-vault/v1/master-key|\(vaultID)".utf8)
  }

  static func dataKey(vaultID: String, recordID: RecordID) -> [UInt8] {
    Array("llm-vault/v1/data-key|\(vaultID)|\(recordID)".utf8)
  }

  static func value(vaultID: String, recordID: RecordID, name: String) -> [UInt8] {
    Array("llm-vault/v1/value|\(vaultID)|\(recordID)|\(name)".utf8)
  }

  static let fileMACInfo = Array("llm-vault/v1/file-mac".utf8)
}
