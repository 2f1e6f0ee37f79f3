/// The failures of the age building blocks (age-encryption.org/v1), in the kinds age's own test
/// vectors name: header failure, no match, HMAC failure, payload failure. No case carries key
/// material: only what was wrong and where.
public enum AgeError: Error, Equatable, Sendable {
  /// A Bech32 string, identity or recipient is malformed (checksum, case, type, length).
  case malformedKey(String)
  /// The header breaks the format (version line, stanza, base64, MAC line), or an X25519 stanza
  /// is invalid (wrong arguments, share or body length, low-order share).
  case headerFailure(String)
  /// None of the identities opens any stanza of the header.
  case noIdentityMatched
  /// The header MAC does not verify under the file key a stanza gave.
  case hmacFailure
  /// The payload is truncated, tampered with, misframed, or followed by trailing data.
  case payloadFailure(String)
  /// `AgeFile.encrypt` was given no recipient.
  case noRecipients

  /// One line: what happened.
  public var message: String {
    switch self {
    case .malformedKey(let text): return "malformed age key: \(text)"
    case .headerFailure(let text): return "invalid age header: \(text)"
    case .noIdentityMatched: return "no identity matched any of the file's recipients"
    case .hmacFailure: return "the age header MAC does not verify"
    case .payloadFailure(let text): return "invalid age payload: \(text)"
    case .noRecipients: return "no recipients to encrypt to"
    }
  }
}
