/// The errors of the crypto layer. None of them carries secret material.
public enum VaultCryptoError: Error, Equatable, Sendable {
  /// An AEAD tag (AES-GCM, ChaCha20-Poly1305) did not verify: wrong key, or the ciphertext, nonce or associated data changed.
  case authenticationFailure
  /// A key has a length the algorithm does not take.
  case incorrectKeySize
  /// An X25519 shared secret came out as all zero bytes: the peer's key is a low-order point, so
  /// the result would be known to anyone.
  case allZeroSharedSecret
  /// A nonce has a length other than the 96 bits this layer uses.
  case incorrectNonceSize
  /// A sealed box is shorter than a nonce and a tag.
  case truncatedSealedBox
  /// A parameter is outside what the algorithm allows (scrypt cost, HKDF output length, ...).
  case invalidParameter(String)
  /// OpenSSL could not allocate what an operation needs: scrypt's buffer, of this many bytes.
  case outOfMemory(byteCount: UInt64)
  /// The kernel's random generator (`getrandom`) failed with this errno.
  case randomSourceFailure(errno: Int32)
  /// OpenSSL reported a failure; the text is OpenSSL's error queue at that point.
  case underlyingOpenSSLError(String)
}
