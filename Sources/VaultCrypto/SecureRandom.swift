import COpenSSL

/// Random bytes from OpenSSL's CSPRNG. The corresponding C function is `RAND_bytes`.
public enum SecureRandom {
  /// `count` random bytes.
  public static func bytes(count: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: count)
    if count == 0 { return output }
    let status = output.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32($0.count)) }
    guard status == 1 else { throw openSSLError("RAND_bytes") }
    return output
  }

  /// A fresh random key of `count` bytes, generated straight into wiped storage.
  public static func secret(count: Int) throws -> SecretBytes {
    try SecretBytes(count: count) { destination in
      guard RAND_bytes(destination.baseAddress, Int32(destination.count)) == 1 else {
        throw openSSLError("RAND_bytes")
      }
    }
  }
}
