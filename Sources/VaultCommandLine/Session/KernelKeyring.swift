import CLinux
import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The Linux kernel key retention service, as an unlock session uses it: one "user" key per
/// vault in the session keyring, readable only by its possessors (the processes of this login
/// session), destroyed by the kernel at its timeout. Every keyctl call the vault makes is here.
enum KernelKeyring {
  /// Why the keyring could not be used; `refused` means a seccomp profile or a kernel without
  /// keys (ENOSYS, EPERM, EACCES), where the unlock agent takes over.
  enum Failure: Error {
    case refused(String)
    case failed(String)
  }

  static func description(vaultID: [UInt8]) -> String { "llm-vault:" + Hex.encode(vaultID) }

  /// Adds (or replaces) the key for `description` with `payload`, possessor-only, expiring in
  /// `seconds`.
  static func store(_ payload: SecretBytes, description: String, seconds: Int64) throws(Failure) {
    let key = payload.withUnsafeBytes { vault_add_session_key(description, $0.baseAddress, $0.count) }
    guard key >= 0 else { throw failure("add_key") }
    // Replacing a key keeps its permissions and timeout, so both are set every time; a key
    // that cannot be restricted is not left behind.
    guard vault_key_possessor_only(key) == 0, vault_key_set_timeout(key, UInt32(seconds)) == 0 else {
      let error = failure("keyctl")
      _ = vault_key_invalidate(key)
      throw error
    }
  }

  /// The payload of the key for `description`, or nil when there is none (or it expired).
  static func read(description: String, maximumLength: Int) throws(Failure) -> SecretBytes? {
    let key = vault_search_session_key(description)
    guard key >= 0 else {
      if errno == ENOKEY || errno == EKEYEXPIRED || errno == EKEYREVOKED { return nil }
      throw failure("keyctl search")
    }
    var length = 0
    let payload = SecretBytes(count: maximumLength) { buffer in
      length = vault_key_read(key, buffer.baseAddress, buffer.count)
    }
    guard length >= 0 else {
      if errno == EKEYEXPIRED || errno == EKEYREVOKED || errno == ENOKEY { return nil }
      throw failure("keyctl read")
    }
    guard length <= maximumLength else { return nil }
    return payload.withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
  }

  /// Destroys the key for `description` at once; false when there was none.
  @discardableResult
  static func remove(description: String) -> Bool {
    let key = vault_search_session_key(description)
    guard key >= 0 else { return false }
    if vault_key_invalidate(key) == 0 { return true }
    return vault_key_unlink(key) == 0
  }

  /// Whether this process may use the keyring at all: a seccomp profile that refuses keyctl
  /// answers every call with EPERM or ENOSYS.
  static var isUsable: Bool {
    let probe = vault_search_session_key("llm-vault:probe")
    return probe >= 0 || errno == ENOKEY
  }

  private static func failure(_ call: String) -> Failure {
    let code = errno
    let message = "\(call): \(String(cString: strerror(code)))"
    switch code {
    case ENOSYS, EPERM, EACCES: return .refused(message)
    default: return .failed(message)
    }
  }
}
