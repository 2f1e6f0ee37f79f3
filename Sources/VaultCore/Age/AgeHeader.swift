import VaultCrypto

/// The textual header of an age v1 file (age-encryption.org/v1, "Header"): the version line,
/// one or more recipient stanzas, and the `--- mac` line.
///
/// Parsing is as strict as age's own: lines end in LF only, stanza arguments are VCHAR, bodies
/// are canonical unpadded base64 in 64-column lines ending with a shorter (possibly empty) line,
/// and the MAC is 32 bytes of canonical base64. Because only one spelling is accepted, the
/// header re-encodes to exactly the bytes read, so the MAC is checked over `encodedWithoutMAC()`
/// as age does.
public struct AgeHeader: Equatable, Sendable {
  /// The version line, without its LF.
  static let versionLine = Array("age-encryption.org/v1".utf8)
  /// Body bytes in one full 64-column line.
  static let bytesPerLine = 48
  /// The length of the header MAC (HMAC-SHA-256).
  public static let macByteCount = 32

  /// The recipient stanzas, in file order.
  public var stanzas: [AgeStanza]
  /// The header MAC from the `---` line.
  public var mac: [UInt8]

  public init(stanzas: [AgeStanza], mac: [UInt8]) {
    self.stanzas = stanzas
    self.mac = mac
  }

  /// Parses the header at the start of `bytes`; `payloadOffset` is where the binary payload
  /// begins (just after the MAC line's LF). Throws `AgeError.headerFailure`.
  public static func parse(_ bytes: [UInt8]) throws -> (header: AgeHeader, payloadOffset: Int) {
    var reader = LineReader(bytes: bytes)
    guard let version = reader.nextLine() else {
      throw AgeError.headerFailure(bytes.isEmpty ? "the file is empty" : "the version line has no end")
    }
    guard version.elementsEqual(versionLine) else { throw AgeError.headerFailure("not an age v1 file") }
    var stanzas: [AgeStanza] = []
    while true {
      guard reader.remaining.count >= 3 else { throw AgeError.headerFailure("the header has no MAC line") }
      if reader.remaining.starts(with: "---".utf8) {
        guard let line = reader.nextLine() else { throw AgeError.headerFailure("the MAC line has no end") }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].elementsEqual("---".utf8), let mac = AgeBase64.decode(parts[1]),
          mac.count == macByteCount
        else {
          throw AgeError.headerFailure("malformed MAC line")
        }
        // age.md's grammar asks for at least one stanza; a header without one opens for no one.
        guard !stanzas.isEmpty else { throw AgeError.headerFailure("the header has no recipient stanza") }
        return (AgeHeader(stanzas: stanzas, mac: mac), reader.offset)
      }
      stanzas.append(try parseStanza(&reader))
    }
  }

  private static func parseStanza(_ reader: inout LineReader) throws -> AgeStanza {
    guard let line = reader.nextLine() else { throw AgeError.headerFailure("a stanza line has no end") }
    let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
    guard parts[0].elementsEqual("->".utf8), parts.count >= 2 else {
      throw AgeError.headerFailure("malformed stanza line")
    }
    let arguments = parts.dropFirst()
    guard arguments.allSatisfy({ AgeStanza.isValidArgument($0) }) else {
      throw AgeError.headerFailure("a stanza argument is empty or has a character outside VCHAR")
    }
    var body: [UInt8] = []
    while true {
      guard let line = reader.nextLine() else { throw AgeError.headerFailure("a stanza body has no final line") }
      guard let decoded = AgeBase64.decode(line) else {
        throw AgeError.headerFailure("a stanza body line is not canonical base64, or a stanza has no short final line")
      }
      guard decoded.count <= bytesPerLine else {
        throw AgeError.headerFailure("a stanza body line is longer than 64 columns")
      }
      body += decoded
      // A body always ends with a line shorter than 64 columns, which may be empty.
      if decoded.count < bytesPerLine { break }
    }
    let words = arguments.map { String(decoding: $0, as: UTF8.self) }
    return AgeStanza(type: words[0], arguments: Array(words.dropFirst()), body: body)
  }

  /// The header up to and including `---` (no space, no MAC): what the MAC covers.
  public func encodedWithoutMAC() -> [UInt8] {
    var output = Self.versionLine
    output.append(UInt8(ascii: "\n"))
    for stanza in stanzas {
      output += Array("->".utf8)
      for word in [stanza.type] + stanza.arguments {
        output.append(UInt8(ascii: " "))
        output += Array(word.utf8)
      }
      output.append(UInt8(ascii: "\n"))
      let text = Array(AgeBase64.encode(stanza.body).utf8)
      var start = 0
      while start < text.count {
        let end = min(start + 64, text.count)
        output += text[start..<end]
        output.append(UInt8(ascii: "\n"))
        start = end
      }
      // A body that fills its last line (or is empty) still needs the short final line.
      if text.count % 64 == 0 { output.append(UInt8(ascii: "\n")) }
    }
    output += Array("---".utf8)
    return output
  }

  /// The whole header, `--- mac` line and its LF included.
  public func encoded() -> [UInt8] {
    encodedWithoutMAC() + Array(" \(AgeBase64.encode(mac))\n".utf8)
  }

  /// The header MAC under `fileKey`: HMAC-SHA-256 keyed with HKDF-SHA-256(ikm = file key,
  /// salt = empty, info = "header") over `encodedWithoutMAC()`.
  public func authenticationCode(fileKey: SecretBytes) throws -> [UInt8] {
    let key = try HKDF.deriveKey(inputKeyMaterial: fileKey, salt: [], info: Array("header".utf8), length: 32)
    return HMACSHA256.authenticationCode(key: key, message: encodedWithoutMAC())
  }

  /// Throws `AgeError.hmacFailure` unless `mac` is the MAC under `fileKey`.
  public func verifyMAC(fileKey: SecretBytes) throws {
    guard constantTimeEquals(try authenticationCode(fileKey: fileKey), mac) else { throw AgeError.hmacFailure }
  }
}

/// Reads LF-terminated lines from the front of a byte array; a line without its LF is no line.
private struct LineReader {
  let bytes: [UInt8]
  private(set) var offset = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  var remaining: ArraySlice<UInt8> { bytes[offset...] }

  /// The next line without its LF, or nil when no LF is left.
  mutating func nextLine() -> ArraySlice<UInt8>? {
    guard let end = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
    let line = bytes[offset..<end]
    offset = end + 1
    return line
  }
}
