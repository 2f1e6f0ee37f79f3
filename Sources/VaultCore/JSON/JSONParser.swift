/// A strict RFC 8259 parser over bytes: no comments, no trailing commas, no duplicate member
/// names, no lone surrogates, no bytes after the value. It is ours (not Foundation's) so the
/// vault file is read the same way on every platform and the parser can be fuzzed alone.
public struct JSONParser {
  /// Why a document is not acceptable JSON, with the byte offset where the parser stopped.
  public struct SyntaxError: Error, Equatable, Sendable {
    public var offset: Int
    public var reason: String
  }

  /// Nesting deeper than this is refused, so a hostile file cannot exhaust the stack.
  public static let maximumDepth = 64

  /// Parses `bytes` as one complete JSON value.
  public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
    try bytes.withUnsafeBufferPointer { buffer throws(SyntaxError) in
      var parser = JSONCursor(bytes: buffer)
      parser.skipWhitespace()
      let value = try parser.parseValue(depth: 0)
      parser.skipWhitespace()
      guard parser.position == buffer.count else { throw parser.error("unexpected data after the JSON value") }
      return value
    }
  }

}

/// The parser's position in a byte buffer. Internal so the record scanner (RecordScanner.swift)
/// can read the vault's fixed-layout lines with the same string rules, without building a tree.
struct JSONCursor {
  let bytes: UnsafeBufferPointer<UInt8>
  var position = 0

  init(bytes: UnsafeBufferPointer<UInt8>) {
    self.bytes = bytes
  }

  func error(_ reason: String) -> JSONParser.SyntaxError {
    JSONParser.SyntaxError(offset: position, reason: reason)
  }

  var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  mutating func skipWhitespace() {
    while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
      position += 1
    }
  }

  mutating func expect(_ byte: UInt8, _ what: String) throws(JSONParser.SyntaxError) {
    guard current == byte else { throw error("expected \(what)") }
    position += 1
  }

  mutating func parseValue(depth: Int) throws(JSONParser.SyntaxError) -> JSONValue {
    guard depth < JSONParser.maximumDepth else { throw error("nesting deeper than \(JSONParser.maximumDepth)") }
    guard let byte = current else { throw error("unexpected end of data") }
    switch byte {
    case UInt8(ascii: "{"): return .object(try parseObject(depth: depth))
    case UInt8(ascii: "["): return .array(try parseArray(depth: depth))
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"):
      try parseLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try parseLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try parseLiteral("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw error("unexpected character")
    }
  }

  mutating func parseLiteral(_ literal: StaticString) throws(JSONParser.SyntaxError) {
    let count = literal.utf8CodeUnitCount
    guard position + count <= bytes.count else { throw error("invalid literal") }
    for index in 0..<count where bytes[position + index] != literal.utf8Start[index] {
      throw error("invalid literal")
    }
    position += count
  }

  mutating func parseObject(depth: Int) throws(JSONParser.SyntaxError) -> JSONObject {
    position += 1
    var object = JSONObject()
    var seen: Set<String>? = nil
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      position += 1
      return object
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
      let nameOffset = position
      let name = try parseString()
      // A linear scan while the object is small (vault objects have a dozen members, and a
      // Set per object was a tenth of the time to read 10,000 records); a Set beyond that, so
      // a hostile object with a million members stays linear.
      let duplicate: Bool
      if seen != nil {
        duplicate = !seen!.insert(name).inserted
      } else {
        duplicate = object.members.contains { $0.name == name }
        if object.members.count == 16 { seen = Set(object.members.map(\.name) + [name]) }
      }
      guard !duplicate else { throw JSONParser.SyntaxError(offset: nameOffset, reason: "duplicate member name") }
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "':'")
      skipWhitespace()
      object.append(name, try parseValue(depth: depth + 1))
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        position += 1
        continue
      }
      try expect(UInt8(ascii: "}"), "',' or '}'")
      return object
    }
  }

  mutating func parseArray(depth: Int) throws(JSONParser.SyntaxError) -> [JSONValue] {
    position += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      position += 1
      return elements
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue(depth: depth + 1))
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        position += 1
        continue
      }
      try expect(UInt8(ascii: "]"), "',' or ']'")
      return elements
    }
  }

  mutating func parseString() throws(JSONParser.SyntaxError) -> String {
    position += 1
    let start = position
    // Fast path: no escapes, so the bytes between the quotes are the string. Pure ASCII
    // (every name, id, date and base64 field of a vault) needs no UTF-8 validation.
    var bits: UInt8 = 0
    while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
      bits |= byte
      position += 1
    }
    if current == UInt8(ascii: "\"") {
      let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
      position += 1
      if bits < 0x80 { return String(decoding: slice, as: UTF8.self) }
      guard let text = String(validating: slice, as: UTF8.self) else {
        throw JSONParser.SyntaxError(offset: start, reason: "invalid UTF-8 in a string")
      }
      return text
    }
    var scratch = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<position]))
    while true {
      guard let byte = current else { throw error("unterminated string") }
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        guard let text = String(validating: scratch, as: UTF8.self) else {
          throw JSONParser.SyntaxError(offset: start, reason: "invalid UTF-8 in a string")
        }
        return text
      case UInt8(ascii: "\\"):
        position += 1
        try parseEscape(into: &scratch)
      case 0..<0x20:
        throw error("control character in a string")
      default:
        scratch.append(byte)
        position += 1
      }
    }
  }

  mutating func parseEscape(into scratch: inout [UInt8]) throws(JSONParser.SyntaxError) {
    guard let byte = current else { throw error("unterminated escape") }
    position += 1
    switch byte {
    case UInt8(ascii: "\""): scratch.append(0x22)
    case UInt8(ascii: "\\"): scratch.append(0x5C)
    case UInt8(ascii: "/"): scratch.append(0x2F)
    case UInt8(ascii: "b"): scratch.append(0x08)
    case UInt8(ascii: "f"): scratch.append(0x0C)
    case UInt8(ascii: "n"): scratch.append(0x0A)
    case UInt8(ascii: "r"): scratch.append(0x0D)
    case UInt8(ascii: "t"): scratch.append(0x09)
    case UInt8(ascii: "u"):
      var scalar = UInt32(try parseHex4())
      if (0xD800..<0xDC00).contains(scalar) {
        guard current == UInt8(ascii: "\\") else { throw error("lone high surrogate") }
        position += 1
        guard current == UInt8(ascii: "u") else { throw error("lone high surrogate") }
        position += 1
        let low = UInt32(try parseHex4())
        guard (0xDC00..<0xE000).contains(low) else { throw error("invalid low surrogate") }
        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
      } else if (0xDC00..<0xE000).contains(scalar) {
        throw error("lone low surrogate")
      }
      guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
      scratch.append(contentsOf: Array(String(Character(unicode)).utf8))
    default:
      throw error("invalid escape")
    }
  }

  mutating func parseHex4() throws(JSONParser.SyntaxError) -> UInt16 {
    guard position + 4 <= bytes.count else { throw error("truncated unicode escape") }
    var value: UInt16 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw error("invalid hex digit in unicode escape")
      }
      value = value << 4 | UInt16(digit)
      position += 1
    }
    return value
  }

  mutating func parseNumber() throws(JSONParser.SyntaxError) -> JSONValue {
    let start = position
    var isInteger = true
    if current == UInt8(ascii: "-") { position += 1 }
    guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
      throw error("invalid number")
    }
    if first == UInt8(ascii: "0") {
      position += 1
    } else {
      skipDigits()
    }
    if current == UInt8(ascii: ".") {
      isInteger = false
      position += 1
      guard try skipRequiredDigits() else { throw error("invalid number") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      isInteger = false
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard try skipRequiredDigits() else { throw error("invalid number") }
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    if isInteger, let value = Int64(text) { return .integer(value) }
    return .otherNumber(text)
  }

  mutating func skipDigits() {
    while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1 }
  }

  mutating func skipRequiredDigits() throws(JSONParser.SyntaxError) -> Bool {
    let start = position
    skipDigits()
    return position > start
  }
}
