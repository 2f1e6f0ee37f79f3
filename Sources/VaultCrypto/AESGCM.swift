import COpenSSL

/// AES-GCM with a 96-bit nonce and a 128-bit tag, through OpenSSL's EVP interface.
///
/// The vault uses 256-bit keys only; 128- and 192-bit keys are accepted so the wrapper can be
/// checked against every Wycheproof group with 96-bit nonces.
public enum AESGCM {
  /// The nonce length in bytes (96 bits): the length GCM is designed for, used without hashing.
  public static let nonceByteCount = 12
  /// The tag length in bytes (128 bits), the full GCM tag.
  public static let tagByteCount = 16
  /// The key length the vault uses (AES-256).
  public static let keyByteCount = 32

  /// Encrypts `plaintext` under `key` with a fresh random nonce, binding `associatedData`.
  /// Returns `nonce || ciphertext || tag`.
  public static func seal(
    _ plaintext: UnsafeRawBufferPointer, key: SecretBytes, associatedData: [UInt8]
  ) throws -> [UInt8] {
    // A random 96-bit nonce per message: with at most a few million encryptions under one key
    // the collision chance stays far below 2^-32, NIST SP 800-38D's bound.
    let nonce = try SecureRandom.bytes(count: nonceByteCount)
    let (ciphertext, tag) = try seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
    return nonce + ciphertext + tag
  }

  /// Encrypts `plaintext`; see `seal(_:key:associatedData:)`.
  public static func seal(_ plaintext: [UInt8], key: SecretBytes, associatedData: [UInt8]) throws -> [UInt8] {
    try plaintext.withUnsafeBytes { try seal($0, key: key, associatedData: associatedData) }
  }

  /// Encrypts `plaintext` under `key` and the caller's `nonce`. Only for known-answer tests:
  /// a nonce reused under one key breaks GCM, so the vault always calls the random-nonce form.
  public static func seal(
    _ plaintext: UnsafeRawBufferPointer, key: SecretBytes, nonce: [UInt8], associatedData: [UInt8]
  ) throws -> (ciphertext: [UInt8], tag: [UInt8]) {
    let context = try CipherContext()
    try initialize(context, key: key, nonce: nonce, encrypt: true)
    try addAssociatedData(associatedData, to: context)
    var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
    var written: Int32 = 0
    if plaintext.count > 0 {
      let status = ciphertext.withUnsafeMutableBytes { output in
        EVP_EncryptUpdate(
          context.pointer, output.baseAddress?.assumingMemoryBound(to: UInt8.self), &written,
          plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count))
      }
      guard status == 1 else { throw openSSLError("EVP_EncryptUpdate") }
    }
    var finalBytes = [UInt8](repeating: 0, count: 16)
    var finalCount: Int32 = 0
    guard EVP_EncryptFinal_ex(context.pointer, &finalBytes, &finalCount) == 1 else {
      throw openSSLError("EVP_EncryptFinal_ex")
    }
    var tag = [UInt8](repeating: 0, count: tagByteCount)
    let tagStatus = tag.withUnsafeMutableBytes { output in
      EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), output.baseAddress)
    }
    guard tagStatus == 1 else { throw openSSLError("EVP_CTRL_GCM_GET_TAG") }
    return (ciphertext, tag)
  }

  /// Decrypts `nonce || ciphertext || tag` into wiped storage, or throws
  /// `authenticationFailure` when the key, any byte of the box, or `associatedData` differs.
  public static func open(_ sealedBox: [UInt8], key: SecretBytes, associatedData: [UInt8]) throws -> SecretBytes {
    guard sealedBox.count >= nonceByteCount + tagByteCount else { throw VaultCryptoError.truncatedSealedBox }
    // The parts are read where they lie: `vault run` opens two boxes per key, thousands per launch.
    return try sealedBox.withUnsafeBytes { box in
      let tagStart = box.count - tagByteCount
      return try open(
        UnsafeRawBufferPointer(rebasing: box[nonceByteCount..<tagStart]), key: key,
        nonce: UnsafeRawBufferPointer(rebasing: box[0..<nonceByteCount]),
        tag: UnsafeRawBufferPointer(rebasing: box[tagStart...]), associatedData: associatedData)
    }
  }

  /// Decrypts with explicit parts; see `open(_:key:associatedData:)`.
  public static func open(
    _ ciphertext: UnsafeRawBufferPointer, key: SecretBytes, nonce: [UInt8], tag: [UInt8],
    associatedData: [UInt8]
  ) throws -> SecretBytes {
    try nonce.withUnsafeBytes { nonce in
      try tag.withUnsafeBytes { tag in
        try open(ciphertext, key: key, nonce: nonce, tag: tag, associatedData: associatedData)
      }
    }
  }

  private static func open(
    _ ciphertext: UnsafeRawBufferPointer, key: SecretBytes, nonce: UnsafeRawBufferPointer,
    tag: UnsafeRawBufferPointer, associatedData: [UInt8]
  ) throws -> SecretBytes {
    try associatedData.withUnsafeBytes { associatedData in
      try open(
        ciphertext, key: key, nonce: nonce, tag: tag, associatedData: associatedData, in: try CipherContext(),
        reusing: nil)
    }
  }

  /// Decrypts in `context`. `reusing` is the cipher `context` was last initialised with, if any:
  /// the same cipher is then re-keyed in place (OpenSSL keeps the provider's GCM state and only
  /// replaces key and nonce) instead of allocating and freeing that state for every box.
  fileprivate static func open(
    _ ciphertext: UnsafeRawBufferPointer, key: SecretBytes, nonce: UnsafeRawBufferPointer,
    tag: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, in context: CipherContext,
    reusing: OpaquePointer?
  ) throws -> SecretBytes {
    guard tag.count == tagByteCount else { throw VaultCryptoError.authenticationFailure }
    try initialize(context, key: key, nonce: nonce, encrypt: false, reusing: reusing)
    try addAssociatedData(associatedData, to: context)
    return try SecretBytes(count: ciphertext.count) { plaintext in
      var written: Int32 = 0
      if ciphertext.count > 0 {
        let status = EVP_DecryptUpdate(
          context.pointer, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), &written,
          ciphertext.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(ciphertext.count))
        guard status == 1 else { throw openSSLError("EVP_DecryptUpdate") }
      }
      // SET_TAG copies the tag; OpenSSL's signature takes a mutable pointer it does not write.
      let tagStatus = EVP_CIPHER_CTX_ctrl(
        context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), UnsafeMutableRawPointer(mutating: tag.baseAddress))
      guard tagStatus == 1 else { throw openSSLError("EVP_CTRL_GCM_SET_TAG") }
      // GCM writes nothing at the end; the buffer is only what the signature asks for.
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
  }

  fileprivate static func cipher(forKeyByteCount count: Int) throws -> OpaquePointer {
    let fetched: OpaquePointer?
    switch count {
    case 16: fetched = Algorithms.shared.aes128GCM
    case 24: fetched = Algorithms.shared.aes192GCM
    case 32: fetched = Algorithms.shared.aes256GCM
    default: throw VaultCryptoError.incorrectKeySize
    }
    guard let fetched else { throw openSSLError("EVP_CIPHER_fetch(AES-GCM)") }
    return fetched
  }

  private static func initialize(_ context: CipherContext, key: SecretBytes, nonce: [UInt8], encrypt: Bool) throws {
    try nonce.withUnsafeBytes { try initialize(context, key: key, nonce: $0, encrypt: encrypt) }
  }

  /// One init call with cipher, key and nonce: 12 bytes is GCM's default nonce length, so no
  /// EVP_CTRL_GCM_SET_IVLEN (each ctrl is a parameter look-up in OpenSSL 3).
  /// With `reusing` equal to the cipher for `key`, the context keeps its cipher (a null cipher
  /// tells OpenSSL so) and only key and nonce are set.
  private static func initialize(
    _ context: CipherContext, key: SecretBytes, nonce: UnsafeRawBufferPointer, encrypt: Bool,
    reusing: OpaquePointer? = nil
  ) throws {
    guard nonce.count == nonceByteCount else { throw VaultCryptoError.incorrectNonceSize }
    let cipher = try cipher(forKeyByteCount: key.count)
    let initialize = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
    let status = key.withUnsafeBytes { keyBytes in
      initialize(
        context.pointer, cipher == reusing ? nil : cipher, nil,
        keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
        nonce.baseAddress?.assumingMemoryBound(to: UInt8.self))
    }
    guard status == 1 else { throw openSSLError("EVP_CipherInit_ex") }
  }

  private static func addAssociatedData(_ associatedData: [UInt8], to context: CipherContext) throws {
    try associatedData.withUnsafeBytes { try addAssociatedData($0, to: context) }
  }

  private static func addAssociatedData(_ aad: UnsafeRawBufferPointer, to context: CipherContext) throws {
    guard aad.count > 0 else { return }
    var ignored: Int32 = 0
    // A null output buffer tells EVP_CipherUpdate that these bytes are associated data.
    let status = EVP_CipherUpdate(
      context.pointer, nil, &ignored, aad.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(aad.count))
    guard status == 1 else { throw openSSLError("EVP_CipherUpdate(aad)") }
  }
}

extension AESGCM {
  /// Opens many boxes in turn with one OpenSSL cipher context: `vault run` opens two boxes per
  /// key, and a context made and freed for each cost more than the decryption. The context holds
  /// the last key's schedule until the opener goes; `CipherContext`'s `deinit` frees and
  /// cleanses it. Not for sharing between threads: make one per batch.
  public final class Opener {
    private let context: CipherContext
    /// The cipher the context was last initialised with; nil before the first box.
    private var cipher: OpaquePointer? = nil

    public init() throws {
      context = try CipherContext()
    }

    /// As `AESGCM.open(_:key:associatedData:)`, with the associated data where it lies.
    public func open(_ sealedBox: [UInt8], key: SecretBytes, associatedData: UnsafeRawBufferPointer) throws
      -> SecretBytes
    {
      guard sealedBox.count >= nonceByteCount + tagByteCount else { throw VaultCryptoError.truncatedSealedBox }
      let wanted = try AESGCM.cipher(forKeyByteCount: key.count)
      let reusing = cipher
      // A failure below may leave the context half set up: the next box re-initialises it whole.
      cipher = nil
      let opened = try sealedBox.withUnsafeBytes { box in
        let tagStart = box.count - tagByteCount
        return try AESGCM.open(
          UnsafeRawBufferPointer(rebasing: box[nonceByteCount..<tagStart]), key: key,
          nonce: UnsafeRawBufferPointer(rebasing: box[0..<nonceByteCount]),
          tag: UnsafeRawBufferPointer(rebasing: box[tagStart...]), associatedData: associatedData, in: context,
          reusing: reusing)
      }
      cipher = wanted
      return opened
    }
  }
}
