import Glibc

/// Walks the lines of a message head in a caller's buffer, for both parsers: finds each CRLF
/// (memchr, no copy), refuses bare LF and bare CR, never looks past `maxHeaderBytes`, and
/// parses header field lines. A line still arriving can be checked as a prefix, so a head
/// that can no longer become valid is refused at once rather than when its end arrives.
struct HTTPHeadScanner {
  let bytes: UnsafeRawBufferPointer
  /// Bytes at or past this index are never read: min(count, maxHeaderBytes).
  let window: Int
  /// Whether the window is cut by the limit (so waiting for more bytes cannot help).
  let limitReached: Bool
  private(set) var position = 0

  init(_ bytes: UnsafeRawBufferPointer, maxHeaderBytes: Int) {
    self.bytes = bytes
    let limit = max(0, maxHeaderBytes)
    window = min(bytes.count, limit)
    limitReached = bytes.count >= limit
  }

  /// The next complete line without its CRLF, or nil when no line ends inside the window.
  mutating func nextLine() throws(HTTPParseError) -> Range<Int>? {
    guard position < window, let base = bytes.baseAddress else { return nil }
    guard let found = memchr(base + position, Int32(HTTPSyntax.lf), window - position) else { return nil }
    let lf = base.distance(to: UnsafeRawPointer(found))
    guard lf > position, bytes[lf - 1] == HTTPSyntax.cr else { throw .badRequest("bare LF in the head") }
    let line = position..<(lf - 1)
    position = lf + 1
    return line
  }

  /// The bytes after the last complete line, less a final CR that may yet be followed by LF.
  var tail: Range<Int> {
    var end = window
    if end > position && bytes[end - 1] == HTTPSyntax.cr { end -= 1 }
    return position..<max(position, end)
  }

  /// Call when no complete head was found: throws 431 if none can fit in the limit.
  func checkCanGrow() throws(HTTPParseError) {
    if limitReached { throw HTTPParseError(status: 431, reason: "head larger than the limit") }
  }

  func invalid(_ byte: UInt8, in part: String) -> HTTPParseError {
    switch byte {
    case HTTPSyntax.cr: return .badRequest("bare CR in the head")
    case 0: return .badRequest("NUL in the \(part)")
    case 0..<0x20, 0x7F: return .badRequest("control character in the \(part)")
    default: return .badRequest("invalid character in the \(part)")
    }
  }

  /// "HTTP/" DIGIT "." DIGIT at `range`: the minor version, or nil when `complete` is false and
  /// the bytes so far are a valid prefix. Only HTTP/1.0 and HTTP/1.1 are accepted (505).
  func version(_ range: Range<Int>, complete: Bool) throws(HTTPParseError) -> Int? {
    let pattern: StaticString = "HTTP/1.1"
    let count = range.count
    if count > 8 { throw .badRequest("malformed HTTP version") }
    for offset in 0..<count {
      let byte = bytes[range.lowerBound + offset]
      let ok: Bool
      switch offset {
      case 5, 7: ok = HTTPSyntax.isDigit(byte)
      default: ok = byte == pattern.utf8Start[offset]
      }
      if !ok { throw .badRequest("malformed HTTP version") }
      // The grammar holds so far; a version other than 1.0 or 1.1 is refused as soon as seen.
      if (offset == 5 && byte != 0x31) || (offset == 7 && byte > 0x31) {
        throw HTTPParseError(status: 505, reason: "HTTP version not supported")
      }
    }
    if count < 8 {
      if complete { throw .badRequest("malformed HTTP version") }
      return nil
    }
    return Int(bytes[range.lowerBound + 7] &- 0x30)
  }

  /// Parses `name ":" OWS value OWS`. With `complete` false the line is a prefix still arriving:
  /// it is only checked, and nil is returned. `strictUTF8` refuses obs-text that is not UTF-8
  /// (a value is kept as a String, and repairing it would forward different bytes); otherwise
  /// such bytes are decoded with replacement characters.
  func headerLine(_ range: Range<Int>, complete: Bool, strictUTF8: Bool) throws(HTTPParseError) -> HTTPHeader? {
    let end = range.upperBound
    var index = range.lowerBound
    if index < end && HTTPSyntax.isWhitespace(bytes[index]) {
      throw .badRequest("folded or indented header line")
    }
    while index < end && HTTPSyntax.isTchar(bytes[index]) { index += 1 }
    if index == end {
      if complete { throw .badRequest("header line without a colon") }
      return nil
    }
    let stop = bytes[index]
    if stop != 0x3A {
      if HTTPSyntax.isWhitespace(stop) { throw .badRequest("whitespace before a header colon") }
      throw invalid(stop, in: "header name")
    }
    if index == range.lowerBound { throw .badRequest("empty header name") }
    let nameEnd = index
    index += 1
    while index < end && HTTPSyntax.isWhitespace(bytes[index]) { index += 1 }
    let valueStart = index
    var sawHigh = false
    while index < end {
      let byte = bytes[index]
      if byte >= 0x80 {
        sawHigh = true
      } else if !HTTPSyntax.inSet(byte, HTTPSyntax.fieldLow, HTTPSyntax.fieldHigh) {
        throw invalid(byte, in: "header value")
      }
      index += 1
    }
    guard complete else { return nil }
    var valueEnd = end
    while valueEnd > valueStart && HTTPSyntax.isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
    let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range.lowerBound..<nameEnd]), as: UTF8.self)
    let valueBytes = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
    let value: String
    if sawHigh && strictUTF8 {
      guard let decoded = String(validating: valueBytes, as: UTF8.self) else {
        throw .badRequest("header value is not UTF-8")
      }
      value = decoded
    } else {
      value = String(decoding: valueBytes, as: UTF8.self)
    }
    return HTTPHeader(name: name, value: value)
  }
}
