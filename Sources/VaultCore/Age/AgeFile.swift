import VaultCrypto

/// Whole age files in the binary format (age-encryption.org/v1; no ASCII armor), encrypted to
/// and decrypted with X25519 keys: a random 16-byte file key, one `X25519` stanza per
/// recipient, the header MAC, and the STREAM payload.
public enum AgeFile {
  /// The length of a file key: 128 bits, fresh from the CSPRNG for every file.
  public static let fileKeyByteCount = 16
  /// The ChaCha20-Poly1305 nonce of a stanza body: every wrap key seals one message only.
  static let zeroNonce = [UInt8](repeating: 0, count: ChaCha20Poly1305.nonceByteCount)

  /// Encrypts `plaintext` to every one of `recipients` (any one identity opens the file).
  public static func encrypt(_ plaintext: SecretBytes, to recipients: [AgeRecipient]) throws -> [UInt8] {
    try plaintext.withUnsafeBytes { try encrypt($0, to: recipients) }
  }

  /// Encrypts `plaintext`; see `encrypt(_:to:)` with `SecretBytes`.
  public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient]) throws -> [UInt8] {
    try plaintext.withUnsafeBytes { try encrypt($0, to: recipients) }
  }

  private static func encrypt(_ plaintext: UnsafeRawBufferPointer, to recipients: [AgeRecipient]) throws -> [UInt8] {
    guard !recipients.isEmpty else { throw AgeError.noRecipients }
    let fileKey = try SecureRandom.secret(count: fileKeyByteCount)
    var header = AgeHeader(stanzas: try recipients.map { try $0.wrap(fileKey: fileKey) }, mac: [])
    header.mac = try header.authenticationCode(fileKey: fileKey)
    return header.encoded() + (try AgePayload.seal(plaintext, fileKey: fileKey))
  }

  /// Decrypts `bytes` with the first of `identities` that opens a stanza, in the order age
  /// checks: header syntax (`headerFailure`), a stanza for us (`noIdentityMatched`, or
  /// `headerFailure` for an invalid X25519 stanza), the header MAC (`hmacFailure`), the payload
  /// (`payloadFailure`; a missing nonce is a `headerFailure`).
  public static func decrypt(_ bytes: [UInt8], identities: [AgeIdentity]) throws -> SecretBytes {
    let (header, payloadOffset) = try AgeHeader.parse(bytes)
    guard let fileKey = try unwrap(header, identities: identities) else { throw AgeError.noIdentityMatched }
    try header.verifyMAC(fileKey: fileKey)
    return try bytes.withUnsafeBytes { file in
      try AgePayload.open(UnsafeRawBufferPointer(rebasing: file[payloadOffset...]), fileKey: fileKey)
    }
  }

  /// The file key from the first stanza one of `identities` opens; an invalid X25519 stanza
  /// stops the search, as it does in age, rather than being skipped.
  private static func unwrap(_ header: AgeHeader, identities: [AgeIdentity]) throws -> SecretBytes? {
    for identity in identities {
      for stanza in header.stanzas {
        if let fileKey = try identity.unwrap(stanza) { return fileKey }
      }
    }
    return nil
  }
}
