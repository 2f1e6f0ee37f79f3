import COpenSSL

/// Owns an `EVP_CIPHER_CTX` and frees it in `deinit`: safe by construction, not by `defer`.
final class CipherContext {
  let pointer: OpaquePointer

  init() throws {
    guard let context = EVP_CIPHER_CTX_new() else { throw openSSLError("EVP_CIPHER_CTX_new") }
    pointer = context
  }

  deinit {
    // EVP_CIPHER_CTX_free also cleanses the expanded key schedule.
    EVP_CIPHER_CTX_free(pointer)
  }
}
