import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

extension SecretBytes {
  /// Everything `descriptor` gives until end of file, an error or `limit` bytes, read straight
  /// into locked memory and returned at its exact length: an identity file, the session key,
  /// a session record from a pipe or from the unlock agent. A caller that must tell "too long"
  /// apart asks for one byte more than it accepts.
  static func reading(_ descriptor: Int32, atMost limit: Int) -> SecretBytes {
    var count = 0
    let buffer = SecretBytes(count: limit) { buffer in
      while count < buffer.count {
        let got = read(descriptor, buffer.baseAddress! + count, buffer.count - count)
        if got < 0 && errno == EINTR { continue }
        if got <= 0 { break }
        count += got
      }
    }
    return count == limit ? buffer : buffer.withUnsafeBytes { SecretBytes(copying: $0.prefix(count)) }
  }
}
