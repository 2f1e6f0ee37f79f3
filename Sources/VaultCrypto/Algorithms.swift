import COpenSSL

/// OpenSSL algorithm objects, fetched once per process. OpenSSL 3 looks an algorithm up in its
/// provider's method store on every implicit use (`EVP_aes_256_gcm()` passed to an init call),
/// which cost more than the encryption itself when `vault run` opens a thousand keys; an
/// explicitly fetched object is reused instead.
///
/// `@unchecked Sendable`: fetched EVP objects are immutable and may be shared between threads
/// (OpenSSL's threading documentation); the pointers are never freed, as they live as long as
/// the process.
final class Algorithms: @unchecked Sendable {
  static let shared = Algorithms()

  let aes128GCM: OpaquePointer?
  let aes192GCM: OpaquePointer?
  let aes256GCM: OpaquePointer?
  let sha256: OpaquePointer?
  let hkdf: OpaquePointer?
  let chaCha20Poly1305: OpaquePointer?

  private init() {
    // The vault needs only the default provider; skipping the system's openssl.cnf keeps start-up
    // short and the behaviour independent of local configuration.
    _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_LOAD_CONFIG), nil)
    aes128GCM = EVP_CIPHER_fetch(nil, "AES-128-GCM", nil)
    aes192GCM = EVP_CIPHER_fetch(nil, "AES-192-GCM", nil)
    aes256GCM = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
    sha256 = EVP_MD_fetch(nil, "SHA256", nil)
    hkdf = EVP_KDF_fetch(nil, vault_hkdf_name(), nil)
    chaCha20Poly1305 = EVP_CIPHER_fetch(nil, "ChaCha20-Poly1305", nil)
  }
}
