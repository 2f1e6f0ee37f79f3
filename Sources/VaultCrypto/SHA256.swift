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

  /// The SHA-256 digest of `message`, a part of an array (a line or the covered part of a file).
  public static func hash(_ message: ArraySlice<UInt8>) -> [UInt8] {
    message.withUnsafeBytes { hash($0) }
  }

  /// SHA-256 of a message given in parts (a file written piece by piece). Owns its OpenSSL
  /// context, freed by `deinit`. The corresponding C functions are `EVP_DigestInit_ex`,
  /// `EVP_DigestUpdate` and `EVP_DigestFinal_ex`.
  public final class Stream {
    private let context: OpaquePointer

    public init() {
      // Both fail only when memory runs out.
      guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
      self.context = context
      precondition(EVP_DigestInit_ex(context, Algorithms.shared.sha256, nil) == 1, "EVP_DigestInit_ex failed")
    }

    /// Adds the next part of the message.
    public func update(_ part: UnsafeRawBufferPointer) {
      guard part.count > 0 else { return }
      precondition(EVP_DigestUpdate(context, part.baseAddress, part.count) == 1, "EVP_DigestUpdate failed")
    }

    /// The digest of every part given; the stream is spent afterwards.
    public func finish() -> [UInt8] {
      var digest = [UInt8](repeating: 0, count: byteCount)
      var length: UInt32 = 0
      let status = digest.withUnsafeMutableBytes { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
      precondition(status == 1 && length == byteCount, "EVP_DigestFinal_ex(SHA-256) failed")
      return digest
    }

    deinit {
      EVP_MD_CTX_free(context)
    }
  }
}
