import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A vault in a fresh temporary directory, at the cheapest cost `vault init` allows.
struct TestVault {
  static let passphraseText = "correct horse battery staple"
  let directory: String
  let store: VaultStore

  init() throws {
    var template = Array((NSTemporaryDirectory() + "vault-core-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    directory = String(cString: made)
    store = VaultStore(path: directory + "/vault.json")
    try store.create(passphrase: Self.passphrase(), logN: 14, createDirectory: false)
  }

  static func passphrase() -> SecretBytes {
    SecretBytes(copying: Array(passphraseText.utf8))
  }

  /// Adds `name` with `value` through the store, as `vault add` does.
  func add(_ name: String, _ value: String, provider: String? = nil, models: [String] = []) throws {
    try store.update(passphrase: Self.passphrase) { document, keyring in
      try document.addKey(
        name: name, value: SecretBytes(copying: Array(value.utf8)), provider: provider, models: models,
        environmentNames: [], keyring: keyring, now: .now())
    }
  }

  func bytes() throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: store.path)))
  }

  func remove() {
    try? FileManager.default.removeItem(atPath: directory)
  }
}

extension SecretBytes {
  var text: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
