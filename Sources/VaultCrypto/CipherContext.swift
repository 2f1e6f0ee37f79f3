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

/// The steps of an AEAD cipher that are the same through EVP for AES-GCM and
/// ChaCha20-Poly1305 (OpenSSL's `EVP_CTRL_GCM_*_TAG` are its `EVP_CTRL_AEAD_*_TAG`), once the
/// context holds a cipher, a key and a nonce.
extension CipherContext {
  /// Feeds associated data: a null output buffer tells EVP_CipherUpdate that these bytes are
  /// associated data.
  func addAssociatedData(_ aad: UnsafeRawBufferPointer) throws {
    guard aad.count > 0 else { return }
    var ignored: Int32 = 0
    let status = EVP_CipherUpdate(
      pointer, nil, &ignored, aad.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(aad.count))
    guard status == 1 else { throw openSSLError("EVP_CipherUpdate(aad)") }
  }

  /// Encrypts or decrypts, as the context was initialised, `input` into `output` (as long): both
  /// ciphers are stream modes, so every byte comes out at once.
  private func update(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
    guard input.count > 0 else { return }
    var written: Int32 = 0
    let status = EVP_CipherUpdate(
      pointer, output.baseAddress?.assumingMemoryBound(to: UInt8.self), &written,
      input.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(input.count))
    guard status == 1, Int(written) == input.count else { throw openSSLError("EVP_CipherUpdate") }
  }

  /// Encrypts `plaintext` into `ciphertext` (as long) and writes the tag into `tag`.
  func seal(
    _ plaintext: UnsafeRawBufferPointer, into ciphertext: UnsafeMutableRawBufferPointer,
    tag: UnsafeMutableRawBufferPointer
  ) throws {
    try update(plaintext, into: ciphertext)
    // Both are stream modes: nothing is held back for the final call; the buffer is only what
    // the signature asks for.
    var finalBytes: (UInt64, UInt64) = (0, 0)
    var finalCount: Int32 = 0
    let finalStatus = withUnsafeMutableBytes(of: &finalBytes) { final in
      EVP_EncryptFinal_ex(pointer, final.baseAddress?.assumingMemoryBound(to: UInt8.self), &finalCount)
    }
    guard finalStatus == 1, finalCount == 0 else { throw openSSLError("EVP_EncryptFinal_ex") }
    guard EVP_CIPHER_CTX_ctrl(pointer, EVP_CTRL_AEAD_GET_TAG, Int32(tag.count), tag.baseAddress) == 1 else {
      throw openSSLError("EVP_CTRL_AEAD_GET_TAG")
    }
  }

  /// Decrypts `ciphertext` into `plaintext` (as long) and checks `tag`; a mismatch is
  /// `authenticationFailure`. OpenSSL writes the plaintext before it checks the tag: callers
  /// wipe `plaintext` when this throws.
  func open(
    _ ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawBufferPointer
  ) throws {
    try update(ciphertext, into: plaintext)
    // SET_TAG copies the tag; OpenSSL's signature takes a mutable pointer it does not write.
    let tagStatus = EVP_CIPHER_CTX_ctrl(
      pointer, EVP_CTRL_AEAD_SET_TAG, Int32(tag.count), UnsafeMutableRawPointer(mutating: tag.baseAddress))
    guard tagStatus == 1 else { throw openSSLError("EVP_CTRL_AEAD_SET_TAG") }
    var finalBytes: (UInt64, UInt64) = (0, 0)
    var finalCount: Int32 = 0
    // The tag is checked here; a mismatch leaves nothing in the error queue worth keeping.
    let finalStatus = withUnsafeMutableBytes(of: &finalBytes) { final in
      EVP_DecryptFinal_ex(pointer, final.baseAddress?.assumingMemoryBound(to: UInt8.self), &finalCount)
    }
    guard finalStatus == 1 else {
      clearOpenSSLErrors()
      throw VaultCryptoError.authenticationFailure
    }
  }
}
