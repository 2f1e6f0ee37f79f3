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
  /// The library context they were fetched from (AlgorithmSubset), or nil for the default one.
  let context: OpaquePointer?

  private init() {
    // The vault needs only the default provider; skipping the system's openssl.cnf keeps start-up
    // short and the behaviour independent of local configuration.
    // Nor does anything here look a cipher up by its legacy name (EVP_get_cipherbyname): every
    // cipher is fetched from the provider, as libssl fetches its own. Leaving the legacy cipher
    // table empty spares registering those ciphers and copying their hundreds of aliases into the
    // name map at the first fetch (2.3 M instructions, a sixth of `vault run` with 10 keys). The
    // legacy digest table stays:
    // X.509 signature checks (the gateway's upstream TLS) find their digest by it.
    _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS), nil)
    // Each fetch goes to a context that knows only these algorithms (AlgorithmSubset), so the
    // first one does not build every cipher OpenSSL has; the default context is the fallback.
    let subset = AlgorithmSubset.makeContext()
    context = subset
    func cipher(_ name: String) -> OpaquePointer? {
      subset.flatMap { EVP_CIPHER_fetch($0, name, nil) } ?? EVP_CIPHER_fetch(nil, name, nil)
    }
    aes128GCM = cipher("AES-128-GCM")
    aes192GCM = cipher("AES-192-GCM")
    aes256GCM = cipher("AES-256-GCM")
    chaCha20Poly1305 = cipher("ChaCha20-Poly1305")
    sha256 = subset.flatMap { EVP_MD_fetch($0, "SHA256", nil) } ?? EVP_MD_fetch(nil, "SHA256", nil)
    hkdf = subset.flatMap { EVP_KDF_fetch($0, vault_hkdf_name(), nil) } ?? EVP_KDF_fetch(nil, vault_hkdf_name(), nil)
    clearOpenSSLErrors()
  }
}
