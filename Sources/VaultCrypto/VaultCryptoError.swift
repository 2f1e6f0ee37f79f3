/// The errors of the crypto layer. None of them carries secret material.
public enum VaultCryptoError: Error, Equatable, Sendable {
  /// An AES-GCM tag did not verify: wrong key, or the ciphertext, nonce or associated data changed.
  case authenticationFailure
  /// A key has a length the algorithm does not take.
  case incorrectKeySize
  /// A nonce has a length other than the 96 bits this layer uses.
  case incorrectNonceSize
  /// A sealed box is shorter than a nonce and a tag.
  case truncatedSealedBox
  /// A parameter is outside what the algorithm allows (scrypt cost, HKDF output length, ...).
  case invalidParameter(String)
  /// OpenSSL reported a failure; the text is OpenSSL's error queue at that point.
  case underlyingOpenSSLError(String)
}
