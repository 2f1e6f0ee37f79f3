import COpenSSL

/// ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce and a 128-bit tag, through OpenSSL's EVP
/// interface (`EVP_CIPHER_fetch("ChaCha20-Poly1305")`), for the age format.
///
/// The caller always passes the nonce: age derives a fresh key for every use (a stanza's wrap
/// key from a fresh ephemeral share, a payload key from a fresh nonce) and numbers the chunks
/// under it, so no random nonce is needed. A (key, nonce) pair must never seal two messages.
public enum ChaCha20Poly1305 {
  /// The key length in bytes (256 bits).
  public static let keyByteCount = 32
  /// The nonce length in bytes (96 bits).
  public static let nonceByteCount = 12
  /// The tag length in bytes (128 bits).
  public static let tagByteCount = 16
  /// The longest input one EVP call takes (its length is an `int`); age's chunks are 64 KiB.
  static let maximumByteCount = Int(Int32.max)
  private static let tooLong = VaultCryptoError.invalidParameter("ChaCha20-Poly1305 input over 2 GiB")

  /// Encrypts `plaintext` under `key` and `nonce`, binding `associatedData`. Returns
  /// `ciphertext || tag`.
  public static func seal(
    _ plaintext: UnsafeRawBufferPointer, key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = []
  ) throws -> [UInt8] {
    guard plaintext.count <= maximumByteCount else { throw tooLong }
    let context = try CipherContext()
    try initialize(context, key: key, nonce: nonce, encrypt: true)
    try addAssociatedData(associatedData, to: context)
    var sealed = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
    try sealed.withUnsafeMutableBytes { output in
      var written: Int32 = 0
      if plaintext.count > 0 {
        let status = EVP_EncryptUpdate(
          context.pointer, output.baseAddress?.assumingMemoryBound(to: UInt8.self), &written,
          plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count))
        guard status == 1, Int(written) == plaintext.count else { throw openSSLError("EVP_EncryptUpdate") }
      }
      // A stream cipher: nothing is held back for the final call.
      var finalCount: Int32 = 0
      let finalStatus = EVP_EncryptFinal_ex(
        context.pointer, output.baseAddress?.assumingMemoryBound(to: UInt8.self).advanced(by: plaintext.count),
        &finalCount)
      guard finalStatus == 1, finalCount == 0 else { throw openSSLError("EVP_EncryptFinal_ex") }
      let tagStatus = EVP_CIPHER_CTX_ctrl(
        context.pointer, EVP_CTRL_AEAD_GET_TAG, Int32(tagByteCount), output.baseAddress?.advanced(by: plaintext.count))
      guard tagStatus == 1 else { throw openSSLError("EVP_CTRL_AEAD_GET_TAG") }
    }
    return sealed
  }

  /// Encrypts `plaintext`; see `seal(_:key:nonce:associatedData:)`.
  public static func seal(
    _ plaintext: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = []
  ) throws -> [UInt8] {
    try plaintext.withUnsafeBytes { try seal($0, key: key, nonce: nonce, associatedData: associatedData) }
  }

  /// Decrypts `ciphertext || tag` into wiped storage, or throws `authenticationFailure` when the
  /// key, the nonce, any byte of the box, or `associatedData` differs.
  public static func open(
    _ sealed: UnsafeRawBufferPointer, key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = []
  ) throws -> SecretBytes {
    guard sealed.count >= tagByteCount else { throw VaultCryptoError.truncatedSealedBox }
    return try SecretBytes(count: sealed.count - tagByteCount) { plaintext in
      try open(sealed, key: key, nonce: nonce, associatedData: associatedData, into: plaintext)
    }
  }

  /// Decrypts `ciphertext || tag`; see `open(_:key:nonce:associatedData:)`.
  public static func open(
    _ sealed: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = []
  ) throws -> SecretBytes {
    try sealed.withUnsafeBytes { try open($0, key: key, nonce: nonce, associatedData: associatedData) }
  }

  /// Decrypts `ciphertext || tag` into `plaintext`, which must be exactly as long as the
  /// ciphertext: for a caller that assembles many boxes into one buffer (age's payload chunks).
  ///
  /// OpenSSL writes the plaintext before it checks the tag, so on any failure `plaintext` is
  /// zeroed before this throws: nothing unauthenticated is left behind.
  public static func open(
    _ sealed: UnsafeRawBufferPointer, key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = [],
    into plaintext: UnsafeMutableRawBufferPointer
  ) throws {
    guard sealed.count >= tagByteCount else { throw VaultCryptoError.truncatedSealedBox }
    guard sealed.count <= maximumByteCount else { throw tooLong }
    let ciphertextCount = sealed.count - tagByteCount
    guard plaintext.count == ciphertextCount else {
      throw VaultCryptoError.invalidParameter("the plaintext buffer must be as long as the ciphertext")
    }
    do {
      try decrypt(sealed, ciphertextCount: ciphertextCount, key: key, nonce: nonce, associatedData, into: plaintext)
    } catch {
      if let base = plaintext.baseAddress { OPENSSL_cleanse(base, plaintext.count) }
      throw error
    }
  }

  private static func decrypt(
    _ sealed: UnsafeRawBufferPointer, ciphertextCount: Int, key: SecretBytes, nonce: [UInt8],
    _ associatedData: [UInt8], into plaintext: UnsafeMutableRawBufferPointer
  ) throws {
    let context = try CipherContext()
    try initialize(context, key: key, nonce: nonce, encrypt: false)
    try addAssociatedData(associatedData, to: context)
    var written: Int32 = 0
    if ciphertextCount > 0 {
      let status = EVP_DecryptUpdate(
        context.pointer, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), &written,
        sealed.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(ciphertextCount))
      guard status == 1, Int(written) == ciphertextCount else { throw openSSLError("EVP_DecryptUpdate") }
    }
    // SET_TAG copies the tag; OpenSSL's signature takes a mutable pointer it does not write.
    let tagStatus = EVP_CIPHER_CTX_ctrl(
      context.pointer, EVP_CTRL_AEAD_SET_TAG, Int32(tagByteCount),
      UnsafeMutableRawPointer(mutating: sealed.baseAddress!.advanced(by: ciphertextCount)))
    guard tagStatus == 1 else { throw openSSLError("EVP_CTRL_AEAD_SET_TAG") }
    // Nothing is written at the end; the buffer is only what the signature asks for.
    var finalBytes: (UInt64, UInt64) = (0, 0)
    var finalCount: Int32 = 0
    // The tag is checked here; a mismatch leaves nothing in the error queue worth keeping.
    let finalStatus = withUnsafeMutableBytes(of: &finalBytes) { final in
      EVP_DecryptFinal_ex(context.pointer, final.baseAddress?.assumingMemoryBound(to: UInt8.self), &finalCount)
    }
    guard finalStatus == 1 else {
      clearOpenSSLErrors()
      throw VaultCryptoError.authenticationFailure
    }
  }

  /// One init call with cipher, key and nonce: 12 bytes is the cipher's default nonce length.
  private static func initialize(_ context: CipherContext, key: SecretBytes, nonce: [UInt8], encrypt: Bool) throws {
    guard key.count == keyByteCount else { throw VaultCryptoError.incorrectKeySize }
    guard nonce.count == nonceByteCount else { throw VaultCryptoError.incorrectNonceSize }
    guard let cipher = Algorithms.shared.chaCha20Poly1305 else {
      throw openSSLError("EVP_CIPHER_fetch(ChaCha20-Poly1305)")
    }
    let initialize = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
    let status = key.withUnsafeBytes { keyBytes in
      initialize(context.pointer, cipher, nil, keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), nonce)
    }
    guard status == 1 else { throw openSSLError("EVP_CipherInit_ex") }
  }

  private static func addAssociatedData(_ associatedData: [UInt8], to context: CipherContext) throws {
    guard !associatedData.isEmpty else { return }
    var ignored: Int32 = 0
    let status = associatedData.withUnsafeBytes { aad in
      // A null output buffer tells EVP_CipherUpdate that these bytes are associated data.
      EVP_CipherUpdate(
        context.pointer, nil, &ignored, aad.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(aad.count))
    }
    guard status == 1 else { throw openSSLError("EVP_CipherUpdate(aad)") }
  }
}
