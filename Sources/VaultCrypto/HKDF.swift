import COpenSSL

/// HKDF with SHA-256 (RFC 5869), extract-then-expand. The corresponding C API is
/// `EVP_KDF_fetch("HKDF")` + `EVP_KDF_derive`.
public enum HKDF {
  /// The largest output RFC 5869 allows with SHA-256: 255 blocks of 32 bytes.
  public static let maximumOutputByteCount = 255 * 32

  /// Derives `length` bytes from `inputKeyMaterial`, `salt` and `info`.
  public static func deriveKey(
    inputKeyMaterial: UnsafeRawBufferPointer, salt: [UInt8], info: [UInt8], length: Int
  ) throws -> SecretBytes {
    guard length > 0, length <= maximumOutputByteCount else {
      throw VaultCryptoError.invalidParameter("HKDF-SHA256 output must be 1 to \(maximumOutputByteCount) bytes")
    }
    guard let kdf = Algorithms.shared.hkdf else { throw openSSLError("EVP_KDF_fetch(HKDF)") }
    guard let context = EVP_KDF_CTX_new(kdf) else { throw openSSLError("EVP_KDF_CTX_new") }
    defer { EVP_KDF_CTX_free(context) }
    // OpenSSL refuses a NULL key pointer even for an empty key; point an empty key at a byte.
    var emptyKeyStandIn: UInt8 = 0
    return try salt.withUnsafeBytes { saltBytes in
      try info.withUnsafeBytes { infoBytes in
        try withUnsafeMutablePointer(to: &emptyKeyStandIn) { standIn in
          let keyAddress = inputKeyMaterial.baseAddress ?? UnsafeRawPointer(standIn)
          var parameters: [OSSL_PARAM] = [
            vault_param_digest(vault_sha256_name()),
            vault_param_key(keyAddress, inputKeyMaterial.count),
          ]
          // An empty salt is left out: RFC 5869 then uses HashLen zero bytes, as OpenSSL does.
          if saltBytes.count > 0 { parameters.append(vault_param_salt(saltBytes.baseAddress, saltBytes.count)) }
          if infoBytes.count > 0 { parameters.append(vault_param_info(infoBytes.baseAddress, infoBytes.count)) }
          parameters.append(OSSL_PARAM_construct_end())
          return try SecretBytes(count: length) { output in
            let status = parameters.withUnsafeBufferPointer { params in
              EVP_KDF_derive(
                context, output.baseAddress?.assumingMemoryBound(to: UInt8.self), output.count, params.baseAddress)
            }
            guard status == 1 else { throw openSSLError("EVP_KDF_derive(HKDF)") }
          }
        }
      }
    }
  }

  /// Runs one derivation from constants, so that the first real one is quick: HKDF looks its
  /// digest up by name in the donor context (`AlgorithmSubset`), whose first look-up builds
  /// every digest the default provider has (0.7 M instructions). The commands that unlock with
  /// the passphrase call this on the thread that reads the vault while scrypt runs; the thread
  /// that then derives the vault's keys finds the look-up cached.
  public static func prepare() {
    _ = try? deriveKey(inputKeyMaterial: UnsafeRawBufferPointer(start: nil, count: 0), salt: [], info: [], length: 32)
  }

  /// Derives `length` bytes from the key held in `inputKeyMaterial`.
  public static func deriveKey(inputKeyMaterial: SecretBytes, salt: [UInt8], info: [UInt8], length: Int) throws
    -> SecretBytes
  {
    try inputKeyMaterial.withUnsafeBytes {
      try deriveKey(inputKeyMaterial: $0, salt: salt, info: info, length: length)
    }
  }
}
