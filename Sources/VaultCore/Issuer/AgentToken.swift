import VaultCrypto

/// An agent key token: `vk_` + token id (11 base62) + secret (43 base62) + CRC-32 (6 base62).
///
/// Built for leak scanners, like GitHub's tokens: a fixed prefix, `_` so a double-click selects
/// it whole, base62, and a checksum over everything before it, so a mistyped or truncated token
/// is refused offline as malformed before any lookup. The token id finds the record without
/// trying each; the 256-bit secret is what unlocks, and only its SHA-256 is stored.
public struct AgentToken: Sendable {
  public static let prefix = "vk_"
  /// The gateway's session tokens (`vault run --gateway`) share the shape under their own
  /// prefix, so a scanner tells them apart and neither parses as the other.
  public static let sessionPrefix = "vs_"
  static let idByteCount = 8
  static let secretByteCount = 32
  static let idWidth = Base62.width(forByteCount: idByteCount)
  static let secretWidth = Base62.width(forByteCount: secretByteCount)
  static let checksumWidth = Base62.width(forByteCount: 4)
  /// Every token has exactly this many characters (63).
  public static let length = prefix.utf8.count + idWidth + secretWidth + checksumWidth

  /// The token id, as 16 lowercase hex digits in the vault file.
  public let id: String
  /// The 256-bit secret.
  public let secret: SecretBytes
  /// The whole token text. Shown once, never stored.
  public let text: SecretBytes

  /// A fresh token from 64 + 256 random bits.
  public static func generate(prefix: String = prefix) throws -> AgentToken {
    let id = try SecureRandom.bytes(count: idByteCount)
    let secret = try SecureRandom.secret(count: secretByteCount)
    let body =
      prefix + Base62.encode(id, width: idWidth)
      + secret.withUnsafeBytes {
        Base62.encode(Array($0), width: secretWidth)
      }
    let checksum = CRC32.checksum(body.utf8)
    let text = body + Base62.encode(withUnsafeBytes(of: checksum.bigEndian) { Array($0) }, width: checksumWidth)
    return AgentToken(id: Hex.encode(id), secret: secret, text: SecretBytes(copying: Array(text.utf8)))
  }

  private init(id: String, secret: SecretBytes, text: SecretBytes) {
    self.id = id
    self.secret = secret
    self.text = text
  }

  /// Parses a token, or throws `malformed` for anything but a well-formed one (wrong prefix,
  /// length, alphabet or checksum). Surrounding whitespace (a newline from a file) is ignored.
  public static func parse(_ bytes: [UInt8], prefix: String = prefix) throws -> AgentToken {
    var trimmed = ArraySlice(bytes)
    while let last = trimmed.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { trimmed.removeLast() }
    while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed.removeFirst() }
    // The token and its secret pass through ordinary arrays on the way into locked memory: both
    // are zeroed before they are freed, whatever the outcome.
    var token = Array(trimmed)
    defer { zero(&token) }
    guard token.count == length, token.starts(with: prefix.utf8) else { throw AgentAccessError.malformed }
    let idStart = prefix.utf8.count
    let secretStart = idStart + idWidth
    let checksumStart = secretStart + secretWidth
    // The checksum first: it is cheap and rejects a mistyped token before the big decode.
    let expected = withUnsafeBytes(of: CRC32.checksum(token[..<checksumStart]).bigEndian) { Array($0) }
    guard Base62.decode(token[checksumStart...], byteCount: 4) == expected,
      let id = Base62.decode(token[idStart..<secretStart], byteCount: idByteCount),
      var secret = Base62.decode(token[secretStart..<checksumStart], byteCount: secretByteCount)
    else { throw AgentAccessError.malformed }
    defer { zero(&secret) }
    return AgentToken(id: Hex.encode(id), secret: SecretBytes(bytes: secret), text: SecretBytes(bytes: token))
  }

  private static func zero(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { raw in
      for offset in raw.indices { raw[offset] = 0 }
    }
  }

  /// Whether `text` has the shape of a display form: `vk_`, one base62 digit, U+2026 and four
  /// base62 digits. The reader refuses any other `display`, so a listing prints nothing else.
  public static func isDisplayForm(_ text: String) -> Bool {
    let scalars = Array(text.unicodeScalars.prefix(10))
    guard scalars.count == 9, text.hasPrefix("vk_"), scalars[4] == "\u{2026}" else { return false }
    return [3, 5, 6, 7, 8].allSatisfy { scalars[$0].isASCII && Base62.alphabet.contains(UInt8(scalars[$0].value)) }
  }

  /// The display form kept at rest and in listings: first 4 and last 4 characters.
  public var display: String {
    text.withUnsafeBytes { bytes in
      String(decoding: bytes.prefix(4), as: UTF8.self) + "\u{2026}" + String(decoding: bytes.suffix(4), as: UTF8.self)
    }
  }

  /// SHA-256 of the secret: all that is stored to recognise the token.
  public var secretHash: [UInt8] {
    secret.withUnsafeBytes { SHA256.hash($0) }
  }
}

/// Why a token does not unlock: each is "access not permitted", with the reason.
public enum AgentAccessError: Error, Equatable, Sendable {
  /// Not a token at all: wrong prefix, length, character or checksum.
  case malformed
  /// Well-formed, but no agent key in this vault has its id, or its secret does not match.
  case unknown
  case revoked(on: Timestamp)
  case expired(on: Timestamp)
}

extension SecretBytes {
  /// A copy of `bytes` through the non-generic initializer. `init(copying:)` is generic and
  /// not specialized across the module boundary: its first use in a process instantiated
  /// generic metadata at run time (about 100,000 instructions of every `vault run`).
  convenience init(bytes: [UInt8]) {
    self.init(count: bytes.count) { destination in
      bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
    }
  }
}
