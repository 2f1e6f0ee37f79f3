import COpenSSL

/// SHA-256. The corresponding C function is `EVP_Digest` with `EVP_sha256()`.
public enum SHA256 {
  /// The digest length in bytes.
  public static let byteCount = 32

  /// The SHA-256 digest of `message`.
  public static func hash(_ message: UnsafeRawBufferPointer) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: byteCount)
    var length: UInt32 = 0
    let status = digest.withUnsafeMutableBytes { output in
      EVP_Digest(message.baseAddress, message.count, output.baseAddress, &length, Algorithms.shared.sha256, nil)
    }
    // EVP_Digest with a built-in digest fails only when memory runs out.
    precondition(status == 1 && length == byteCount, "EVP_Digest(SHA-256) failed")
    return digest
  }

  /// The SHA-256 digest of `message`.
  public static func hash(_ message: [UInt8]) -> [UInt8] {
    message.withUnsafeBytes { hash($0) }
  }
}
