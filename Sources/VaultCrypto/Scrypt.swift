import COpenSSL

/// scrypt (RFC 7914), the passphrase KDF. The corresponding C function is `EVP_PBE_scrypt`.
public enum Scrypt {
  /// The parameters scrypt takes besides the password and salt.
  public struct Parameters: Equatable, Sendable {
    /// CPU/memory cost, a power of two greater than 1.
    public var n: UInt64
    /// Block size.
    public var r: UInt64
    /// Parallelisation.
    public var p: UInt64

    public init(n: UInt64, r: UInt64, p: UInt64) {
      self.n = n
      self.r = r
      self.p = p
    }

    /// The memory scrypt needs, counted as `EVP_PBE_scrypt` counts it against `maxmem`:
    /// 128 * r * (N + 2) bytes for V and the working blocks X and T, plus 128 * r * p for B.
    /// `UInt64.max` when that overflows, so hostile values from a file are refused, not trapped on.
    public var memoryByteCount: UInt64 {
      let (blockBytes, blockOverflow) = UInt64(128).multipliedReportingOverflow(by: r)
      let (vBlocks, vBlocksOverflow) = n.addingReportingOverflow(2)
      let (vBytes, vOverflow) = blockBytes.multipliedReportingOverflow(by: vBlocks)
      let (bBytes, bOverflow) = blockBytes.multipliedReportingOverflow(by: p)
      if blockOverflow || vBlocksOverflow || vOverflow || bOverflow { return .max }
      let (total, overflow) = vBytes.addingReportingOverflow(bBytes)
      return overflow ? .max : total
    }
  }

  /// The upper bound passed as `maxmem`. OpenSSL's default (32 MiB) refuses N=2^17, r=8, so the
  /// cap is explicit; 1 GiB + 1 MiB admits RFC 7914's fourth vector and refuses anything larger,
  /// so a hostile file cannot ask for unbounded memory.
  public static let maximumMemoryByteCount: UInt64 = (1 << 30) + (1 << 20)

  /// Derives `length` bytes from `password` and `salt`.
  public static func deriveKey(
    password: UnsafeRawBufferPointer, salt: [UInt8], parameters: Parameters, length: Int
  ) throws -> SecretBytes {
    let n = parameters.n
    guard n > 1, n & (n - 1) == 0 else {
      throw VaultCryptoError.invalidParameter("scrypt N must be a power of two > 1")
    }
    guard parameters.r > 0, parameters.p > 0 else {
      throw VaultCryptoError.invalidParameter("scrypt r and p must be positive")
    }
    guard parameters.memoryByteCount <= maximumMemoryByteCount else {
      throw VaultCryptoError.invalidParameter("scrypt parameters need more than 1 GiB of memory")
    }
    guard length > 0 else { throw VaultCryptoError.invalidParameter("scrypt output length must be positive") }
    AlgorithmSubset.startBeforeTheDefaultContext()
    return try SecretBytes(count: length) { output in
      let status = salt.withUnsafeBytes { saltBytes in
        EVP_PBE_scrypt(
          password.baseAddress?.assumingMemoryBound(to: CChar.self), password.count,
          saltBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), saltBytes.count,
          parameters.n, parameters.r, parameters.p, maximumMemoryByteCount,
          output.baseAddress?.assumingMemoryBound(to: UInt8.self), output.count)
      }
      // The parameters were checked above, so what fails at run time is the allocation of its
      // buffer (a process's memory limit, a small machine): said in bytes, not OpenSSL's words.
      guard status == 1 else {
        if vault_err_is_malloc_failure(ERR_peek_last_error()) != 0 {
          clearOpenSSLErrors()
          throw VaultCryptoError.outOfMemory(byteCount: parameters.memoryByteCount)
        }
        throw openSSLError("EVP_PBE_scrypt")
      }
    }
  }

  /// Derives `length` bytes from the password held in `password`.
  public static func deriveKey(password: SecretBytes, salt: [UInt8], parameters: Parameters, length: Int) throws
    -> SecretBytes
  {
    try password.withUnsafeBytes { try deriveKey(password: $0, salt: salt, parameters: parameters, length: length) }
  }
}
