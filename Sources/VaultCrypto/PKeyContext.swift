import COpenSSL

/// Owns an `EVP_PKEY_CTX` and frees it in `deinit`.
final class PKeyContext {
  let pointer: OpaquePointer

  /// Takes ownership of `pointer`, or throws the error of `function` when it is null.
  init(_ pointer: OpaquePointer?, from function: String) throws {
    guard let pointer else { throw openSSLError(function) }
    self.pointer = pointer
  }

  deinit {
    EVP_PKEY_CTX_free(pointer)
  }
}
