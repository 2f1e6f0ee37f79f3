import VaultCrypto

/// An age X25519 recipient: a Curve25519 public key, written `age1...` (Bech32, prefix `age`,
/// lowercase). It wraps a file key into an `X25519` stanza anyone holding the matching
/// `AgeIdentity` can open.
public struct AgeRecipient: Hashable, Sendable, CustomStringConvertible {
  static let bech32Prefix = "age"
  /// The stanza type of X25519 recipients, and the HKDF info that binds a wrap key to it.
  static let stanzaType = "X25519"
  static let wrapInfo = Array("age-encryption.org/v1/X25519".utf8)
  /// The file key is 16 bytes, so a sealed one (with its tag) is 32.
  static let wrappedFileKeyByteCount = AgeFile.fileKeyByteCount + ChaCha20Poly1305.tagByteCount

  /// The 32-byte X25519 public key.
  public let publicKey: [UInt8]

  /// A recipient for `publicKey`; throws `malformedKey` unless it is 32 bytes.
  public init(publicKey: [UInt8]) throws {
    guard publicKey.count == X25519.keyByteCount else { throw AgeError.malformedKey("a recipient must be 32 bytes") }
    self.publicKey = publicKey
  }

  /// Parses `age1...` as age does: lowercase Bech32 with the prefix `age` and 32 bytes of data.
  public init(parsing text: String) throws {
    let (prefix, data) = try Bech32.decode(text)
    guard prefix == Self.bech32Prefix else { throw AgeError.malformedKey("not an age X25519 recipient (age1...)") }
    try self.init(publicKey: data)
  }

  /// `age1...`.
  public var encoded: String {
    // 32 bytes under a valid lowercase prefix always encode.
    try! Bech32.encode(humanReadablePart: Self.bech32Prefix, data: publicKey)
  }

  public var description: String { encoded }

  /// Wraps `fileKey` into a fresh `X25519` stanza: a new ephemeral key per stanza, the wrap key
  /// HKDF-SHA-256(ikm = shared secret, salt = ephemeral share || recipient, info =
  /// "age-encryption.org/v1/X25519"), and the file key sealed with ChaCha20-Poly1305.
  func wrap(fileKey: SecretBytes) throws -> AgeStanza {
    let ephemeral = try X25519.generatePrivateKey()
    let share = try X25519.publicKey(privateKey: ephemeral)
    let sharedSecret: SecretBytes
    do {
      sharedSecret = try X25519.sharedSecret(privateKey: ephemeral, peerPublicKey: publicKey)
    } catch VaultCryptoError.allZeroSharedSecret {
      throw AgeError.malformedKey("the recipient is a low-order point")
    }
    let wrapKey = try HKDF.deriveKey(
      inputKeyMaterial: sharedSecret, salt: share + publicKey, info: Self.wrapInfo,
      length: ChaCha20Poly1305.keyByteCount)
    // The all-zero nonce is safe: the wrap key comes from a fresh ephemeral key, so it seals
    // exactly one message.
    let body = try fileKey.withUnsafeBytes {
      try ChaCha20Poly1305.seal($0, key: wrapKey, nonce: AgeFile.zeroNonce)
    }
    return AgeStanza(type: Self.stanzaType, arguments: [AgeBase64.encode(share)], body: body)
  }
}
