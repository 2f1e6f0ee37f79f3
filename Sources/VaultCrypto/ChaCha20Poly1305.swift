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
    try associatedData.withUnsafeBytes { try context.addAssociatedData($0) }
    var sealed = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
    try sealed.withUnsafeMutableBytes { output in
      try context.seal(
        plaintext, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<plaintext.count]),
        tag: UnsafeMutableRawBufferPointer(rebasing: output[plaintext.count...]))
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
    try associatedData.withUnsafeBytes { try context.addAssociatedData($0) }
    try context.open(
      UnsafeRawBufferPointer(rebasing: sealed[0..<ciphertextCount]),
      tag: UnsafeRawBufferPointer(rebasing: sealed[ciphertextCount...]), into: plaintext)
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
}
