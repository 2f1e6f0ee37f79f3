import COpenSSL

/// Owns an `EVP_PKEY` and frees it in `deinit`, like `CipherContext`: safe by construction.
final class PKey {
  let pointer: OpaquePointer

  /// Takes ownership of `pointer`, or throws the error of `function` when it is null.
  init(_ pointer: OpaquePointer?, from function: String) throws {
    guard let pointer else { throw openSSLError(function) }
    self.pointer = pointer
  }

  deinit {
    // EVP_PKEY_free cleanses the private key of an X25519 key before freeing it.
    EVP_PKEY_free(pointer)
  }
}
