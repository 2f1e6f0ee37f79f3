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
    try associatedData.withUnsafeBytes { try context.addAssociatedData($0) }
    var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
    var tag = [UInt8](repeating: 0, count: tagByteCount)
    try ciphertext.withUnsafeMutableBytes { output in
      try tag.withUnsafeMutableBytes { try context.seal(plaintext, into: output, tag: $0) }
    }
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

  /// Decrypts parts that lie in the caller's buffer (a box inside a file read whole), with no
  /// copy of the box; see `open(_:key:associatedData:)`.
  public static func open(
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
  /// `keyIsSet` says the context already holds `key` (and `reusing` is its cipher): only the
  /// nonce is set, and the key schedule and GHASH table OpenSSL derived from it are kept.
  fileprivate static func open(
    _ ciphertext: UnsafeRawBufferPointer, key: SecretBytes, nonce: UnsafeRawBufferPointer,
    tag: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, in context: CipherContext,
    reusing: OpaquePointer?, keyIsSet: Bool = false
  ) throws -> SecretBytes {
    guard tag.count == tagByteCount else { throw VaultCryptoError.authenticationFailure }
    if keyIsSet {
      try setNonce(context, nonce: nonce, encrypt: false)
    } else {
      try initialize(context, key: key, nonce: nonce, encrypt: false, reusing: reusing)
    }
    try context.addAssociatedData(associatedData)
    return try SecretBytes(count: ciphertext.count) { plaintext in
      try context.open(ciphertext, tag: tag, into: plaintext)
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

  /// A new nonce for the cipher and key the context holds: null cipher and key tell
  /// EVP_CipherInit_ex to keep both (EVP_EncryptInit(3)), so only GCM's counter and hash state
  /// start over.
  private static func setNonce(_ context: CipherContext, nonce: UnsafeRawBufferPointer, encrypt: Bool) throws {
    guard nonce.count == nonceByteCount else { throw VaultCryptoError.incorrectNonceSize }
    let initialize = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
    let status = initialize(context.pointer, nil, nil, nil, nonce.baseAddress?.assumingMemoryBound(to: UInt8.self))
    guard status == 1 else { throw openSSLError("EVP_CipherInit_ex") }
  }
}

extension AESGCM {
  /// Opens many boxes in turn with one OpenSSL cipher context: `vault run` opens two boxes per
  /// key, and a context made and freed for each cost more than the decryption. The context holds
  /// the last key's schedule until the opener goes; `CipherContext`'s `deinit` frees and
  /// cleanses it. Boxes under one key in a row (an agent's grants, all under its slot key) set
  /// that key once: expanding it and deriving GCM's hash key is most of the work of a small box.
  /// Not for sharing between threads: make one per batch.
  public final class Opener {
    private let context: CipherContext
    /// The cipher the context was last initialised with; nil before the first box.
    private var cipher: OpaquePointer? = nil
    /// The key the context holds, if a box was last opened with it. Held, not just compared by
    /// address: a freed key's address could be reused by another key.
    private var key: SecretBytes? = nil

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
      let keyIsSet = reusing == wanted && self.key === key
      // A failure below may leave the context half set up: the next box re-initialises it whole.
      cipher = nil
      self.key = nil
      let opened = try sealedBox.withUnsafeBytes { box in
        let tagStart = box.count - tagByteCount
        return try AESGCM.open(
          UnsafeRawBufferPointer(rebasing: box[nonceByteCount..<tagStart]), key: key,
          nonce: UnsafeRawBufferPointer(rebasing: box[0..<nonceByteCount]),
          tag: UnsafeRawBufferPointer(rebasing: box[tagStart...]), associatedData: associatedData, in: context,
          reusing: reusing, keyIsSet: keyIsSet)
      }
      cipher = wanted
      self.key = key
      return opened
    }
  }
}
