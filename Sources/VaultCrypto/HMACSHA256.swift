import COpenSSL

/// HMAC-SHA256. The corresponding C function is the one-shot `HMAC` with `EVP_sha256()`.
public enum HMACSHA256 {
  /// The tag length in bytes.
  public static let byteCount = 32

  /// The HMAC-SHA256 tag of `message` under `key`.
  public static func authenticationCode(key: SecretBytes, message: UnsafeRawBufferPointer) -> [UInt8] {
    AlgorithmSubset.startBeforeTheDefaultContext()
    var tag = [UInt8](repeating: 0, count: byteCount)
    var length: UInt32 = 0
    let result = key.withUnsafeBytes { keyBytes in
      tag.withUnsafeMutableBytes { output in
        HMAC(
          EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
          message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count,
          output.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
      }
    }
    precondition(result != nil && length == byteCount, "HMAC(SHA-256) failed")
    return tag
  }

  /// The HMAC-SHA256 tag of `message` under `key`.
  public static func authenticationCode(key: SecretBytes, message: [UInt8]) -> [UInt8] {
    message.withUnsafeBytes { authenticationCode(key: key, message: $0) }
  }
}
