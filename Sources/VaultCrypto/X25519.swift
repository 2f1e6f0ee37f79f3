import COpenSSL

/// X25519 Diffie-Hellman (RFC 7748) through OpenSSL's `EVP_PKEY` interface, for age's X25519
/// recipients: a private key is 32 bytes, a public key (a Montgomery u-coordinate) 32 bytes.
public enum X25519 {
  /// The length of a private key, a public key and a shared secret.
  public static let keyByteCount = 32

  /// A fresh private key, generated straight into wiped storage. The corresponding C functions
  /// are `EVP_PKEY_generate` and `EVP_PKEY_get_raw_private_key`.
  ///
  /// OpenSSL's generator returns the scalar already clamped (RFC 7748 section 5); every 32-byte
  /// string is a valid private key either way, since X25519 clamps on use.
  public static func generatePrivateKey() throws -> SecretBytes {
    AlgorithmSubset.startBeforeTheDefaultContext()
    let context = try PKeyContext(EVP_PKEY_CTX_new_from_name(nil, "X25519", nil), from: "EVP_PKEY_CTX_new_from_name")
    guard EVP_PKEY_keygen_init(context.pointer) == 1 else { throw openSSLError("EVP_PKEY_keygen_init") }
    var generated: OpaquePointer?
    guard EVP_PKEY_generate(context.pointer, &generated) == 1 else { throw openSSLError("EVP_PKEY_generate") }
    let key = try PKey(generated, from: "EVP_PKEY_generate")
    return try SecretBytes(count: keyByteCount) { output in
      var length = output.count
      let status = EVP_PKEY_get_raw_private_key(
        key.pointer, output.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
      guard status == 1, length == keyByteCount else { throw openSSLError("EVP_PKEY_get_raw_private_key") }
    }
  }

  /// The public key of `privateKey`, X25519(privateKey, 9). The corresponding C functions are
  /// `EVP_PKEY_new_raw_private_key` and `EVP_PKEY_get_raw_public_key`.
  public static func publicKey(privateKey: SecretBytes) throws -> [UInt8] {
    let key = try privateKeyObject(privateKey)
    var publicKey = [UInt8](repeating: 0, count: keyByteCount)
    var length = publicKey.count
    guard EVP_PKEY_get_raw_public_key(key.pointer, &publicKey, &length) == 1, length == keyByteCount else {
      throw openSSLError("EVP_PKEY_get_raw_public_key")
    }
    return publicKey
  }

  /// The shared secret X25519(privateKey, peerPublicKey). The corresponding C function is
  /// `EVP_PKEY_derive`.
  ///
  /// Throws `allZeroSharedSecret` when the result is 32 zero bytes, which happens exactly when
  /// the peer's key is a low-order point: such a "secret" is known to anyone, so age (and
  /// RFC 7748 section 6.1's advice) requires the caller to abort rather than use it.
  public static func sharedSecret(privateKey: SecretBytes, peerPublicKey: [UInt8]) throws -> SecretBytes {
    guard peerPublicKey.count == keyByteCount else { throw VaultCryptoError.incorrectKeySize }
    let key = try privateKeyObject(privateKey)
    let peer = try PKey(
      EVP_PKEY_new_raw_public_key_ex(nil, "X25519", nil, peerPublicKey, peerPublicKey.count),
      from: "EVP_PKEY_new_raw_public_key_ex")
    let context = try PKeyContext(EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil), from: "EVP_PKEY_CTX_new_from_pkey")
    guard EVP_PKEY_derive_init(context.pointer) == 1 else { throw openSSLError("EVP_PKEY_derive_init") }
    guard EVP_PKEY_derive_set_peer(context.pointer, peer.pointer) == 1 else {
      throw openSSLError("EVP_PKEY_derive_set_peer")
    }
    let secret = try SecretBytes(count: keyByteCount) { output in
      var length = output.count
      let status = EVP_PKEY_derive(context.pointer, output.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
      guard status == 1 else {
        // OpenSSL 3 refuses the all-zero result itself and says only "failed during derivation";
        // with a well-formed 32-byte key that is the one way X25519 can fail, so it gets our
        // typed error rather than a generic one.
        let code = ERR_peek_last_error()
        if ERR_GET_LIB(code) == ERR_LIB_PROV && ERR_GET_REASON(code) == PROV_R_FAILED_DURING_DERIVATION {
          clearOpenSSLErrors()
          throw VaultCryptoError.allZeroSharedSecret
        }
        throw openSSLError("EVP_PKEY_derive")
      }
      guard length == keyByteCount else { throw openSSLError("EVP_PKEY_derive") }
    }
    // Checked here as well, so the guarantee does not rest on one OpenSSL version's behaviour.
    let isAllZero = secret.withUnsafeBytes { bytes in bytes.reduce(UInt8(0)) { $0 | $1 } == 0 }
    guard !isAllZero else { throw VaultCryptoError.allZeroSharedSecret }
    return secret
  }

  private static func privateKeyObject(_ privateKey: SecretBytes) throws -> PKey {
    guard privateKey.count == keyByteCount else { throw VaultCryptoError.incorrectKeySize }
    AlgorithmSubset.startBeforeTheDefaultContext()
    return try privateKey.withUnsafeBytes { bytes in
      try PKey(
        EVP_PKEY_new_raw_private_key_ex(
          nil, "X25519", nil, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count),
        from: "EVP_PKEY_new_raw_private_key_ex")
    }
  }
}
