import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The key the kernel keyring's copy of a session record is sealed under: 32 random bytes in
/// `session.key` (mode 0600) in the user's private runtime directory (the unlock agent's, mode
/// 0700). Possession of the keyring entry alone is not enough: `su` and `runuser` can leave
/// another uid in the same session keyring, and that uid cannot read this file.
enum SessionWrapKey {
  static let fileName = "session.key"
  static let associatedData = Array("llm-vault/unlock-session/keyring".utf8)

  /// The key, created (0600, exclusively) when `creating` and absent; nil when absent.
  static func load(directory: String, creating: Bool) throws -> SecretBytes? {
    let path = directory + "/" + fileName
    var descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    if descriptor < 0 && errno == ENOENT {
      guard creating else { return nil }
      let fresh = try SecureRandom.secret(count: 32)
      let made = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
      if made >= 0 {
        let written = fresh.withUnsafeBytes { write(made, $0.baseAddress, $0.count) }
        close(made)
        guard written == 32 else {
          unlink(path)
          throw VaultError.io("cannot write \(path)")
        }
        return fresh
      }
      // Another `vault unlock` made it meanwhile: read theirs.
      descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    }
    guard descriptor >= 0 else { throw VaultError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_uid == geteuid(),
      status.st_mode & 0o077 == 0, status.st_size == 32
    else {
      throw VaultError.insecureFile(
        "\(path) is not a 32-byte file of mode 0600 owned by you", hint: "remove it; 'vault unlock' makes a new one")
    }
    let key = SecretBytes.reading(descriptor, atMost: 32)
    guard key.count == 32 else { throw VaultError.io("cannot read \(path)") }
    return key
  }

  static func seal(_ record: SecretBytes, key: SecretBytes) throws -> SecretBytes {
    SecretBytes(copying: try record.withUnsafeBytes { try AESGCM.seal($0, key: key, associatedData: associatedData) })
  }

  static func unseal(_ sealed: SecretBytes, key: SecretBytes) -> SecretBytes? {
    try? AESGCM.open(sealed.copyBytes(), key: key, associatedData: associatedData)
  }
}
