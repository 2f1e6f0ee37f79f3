import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A vault in a fresh temporary directory, at the suite's scrypt cost.
struct TestVault {
  static let passphraseText = "correct horse battery staple"
  /// log2(N) of these vaults: N=2^10, the floor a debug build takes from
  /// `VAULT_TEST_SCRYPT_MIN_LOG_N` (`KDFSettings.minimumLogN`), as the command-line tests'
  /// sandboxes set it (their TestKDF). At the production floor, 2^14, scrypt was most of these
  /// tests' time. The floor itself is tested end to end (VaultCLITests' KDFParameterTests).
  static let logN = 10
  /// Lowers the floor in this process, once, before any vault is made or read.
  private static let lowFloor: Void = {
    setenv("VAULT_TEST_SCRYPT_MIN_LOG_N", String(logN), 1)
    precondition(KDFSettings.minimumLogN == logN, "a debug build follows VAULT_TEST_SCRYPT_MIN_LOG_N")
  }()
  let directory: String
  let store: VaultStore

  init() throws {
    _ = Self.lowFloor
    var template = Array((NSTemporaryDirectory() + "vault-core-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    directory = String(cString: made)
    store = VaultStore(path: directory + "/vault.json")
    try store.create(passphrase: Self.passphrase(), logN: Self.logN, createDirectory: false)
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
