import VaultCrypto

/// An age X25519 identity: a 32-byte private key, written `AGE-SECRET-KEY-1...` (Bech32, prefix
/// `AGE-SECRET-KEY-`, uppercase), as `age-keygen` writes it. The key stays in `SecretBytes`;
/// its text form is handed out only as `SecretBytes` too.
public struct AgeIdentity: Sendable {
  static let bech32Prefix = "AGE-SECRET-KEY-"

  /// The private key (wiped storage).
  let privateKey: SecretBytes
  /// The recipient that encrypts to this identity.
  public let recipient: AgeRecipient

  /// The identity of `privateKey` (32 bytes; every such string is a valid X25519 key).
  public init(privateKey: SecretBytes) throws {
    guard privateKey.count == X25519.keyByteCount else {
      throw AgeError.malformedKey("an identity must be 32 bytes")
    }
    self.privateKey = privateKey
    recipient = try AgeRecipient(publicKey: X25519.publicKey(privateKey: privateKey))
  }

  /// A fresh identity.
  public static func generate() throws -> AgeIdentity {
    try AgeIdentity(privateKey: X25519.generatePrivateKey())
  }

  /// Parses the UTF-8 of `AGE-SECRET-KEY-1...` as age does: uppercase Bech32 with that prefix
  /// and 32 bytes of data. The error never repeats the text.
  public init(parsing text: SecretBytes) throws {
    let (prefix, key) = try text.withUnsafeBytes { try Bech32.decode($0) }
    guard prefix == Self.bech32Prefix else { throw AgeError.malformedKey("not an age identity (AGE-SECRET-KEY-1...)") }
    try self.init(privateKey: key)
  }

  /// Parses `AGE-SECRET-KEY-1...`; see `init(parsing:)` with `SecretBytes`.
  public init(parsing text: String) throws {
    try self.init(parsing: SecretBytes(copying: Array(text.utf8)))
  }

  /// The UTF-8 of `AGE-SECRET-KEY-1...`, in wiped storage.
  public func encoded() -> SecretBytes {
    // 32 bytes under a valid uppercase prefix always encode.
    try! privateKey.withUnsafeBytes { try Bech32.encode(humanReadablePart: Self.bech32Prefix, data: $0) }
  }

  /// The file key in `stanza`, or nil when the stanza is not for this identity (another type, or
  /// an X25519 stanza whose body does not open under our key). Throws `headerFailure` for an
  /// X25519 stanza age would reject: not exactly one argument, a share that is not canonical
  /// base64 of 32 bytes, a low-order share, or a body other than 32 bytes (checked before
  /// decrypting, against partitioning oracles).
  func unwrap(_ stanza: AgeStanza) throws -> SecretBytes? {
    guard stanza.type == AgeRecipient.stanzaType else { return nil }
    guard stanza.arguments.count == 1 else { throw AgeError.headerFailure("an X25519 stanza must have one argument") }
    guard let share = AgeBase64.decode(stanza.arguments[0].utf8), share.count == X25519.keyByteCount else {
      throw AgeError.headerFailure("an X25519 share must be canonical base64 of 32 bytes")
    }
    guard stanza.body.count == AgeRecipient.wrappedFileKeyByteCount else {
      throw AgeError.headerFailure("an X25519 stanza body must be 32 bytes")
    }
    let sharedSecret: SecretBytes
    do {
      sharedSecret = try X25519.sharedSecret(privateKey: privateKey, peerPublicKey: share)
    } catch VaultCryptoError.allZeroSharedSecret {
      throw AgeError.headerFailure("an X25519 share is a low-order point")
    }
    let wrapKey = try HKDF.deriveKey(
      inputKeyMaterial: sharedSecret, salt: share + recipient.publicKey, info: AgeRecipient.wrapInfo,
      length: ChaCha20Poly1305.keyByteCount)
    do {
      return try ChaCha20Poly1305.open(stanza.body, key: wrapKey, nonce: AgeFile.zeroNonce)
    } catch VaultCryptoError.authenticationFailure {
      return nil
    }
  }
}
