/// Byte classes of RFC 9110/9112 and RFC 3986, as 128-bit masks (two words), so a check is a
/// shift and an AND with no table in memory, and ASCII case-insensitive comparisons that
/// allocate nothing. Shared by the request and response parsers and the chunked decoder.
enum HTTPSyntax {
  static let cr: UInt8 = 0x0D
  static let lf: UInt8 = 0x0A
  static let sp: UInt8 = 0x20
  static let htab: UInt8 = 0x09

  // token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
  // "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
  static let tcharLow: UInt64 = 0x03ff_6cfa_0000_0000
  static let tcharHigh: UInt64 = 0x57ff_ffff_c7ff_fffe
  // origin-form bytes: unreserved / sub-delims / ":" / "@" / "/" / "?" / "%" (pct-encoded is
  // checked separately). No "#": a fragment is never part of a request target.
  static let targetLow: UInt64 = 0xafff_fff2_0000_0000
  static let targetHigh: UInt64 = 0x47ff_fffe_87ff_ffff
  // field-vchar (VCHAR) plus SP and HTAB; obs-text (0x80...0xFF) is allowed separately.
  static let fieldLow: UInt64 = 0xffff_ffff_0000_0200
  static let fieldHigh: UInt64 = 0x7fff_ffff_ffff_ffff
  static let hexLow: UInt64 = 0x03ff_0000_0000_0000
  static let hexHigh: UInt64 = 0x0000_007e_0000_007e

  @inline(__always)
  static func inSet(_ byte: UInt8, _ low: UInt64, _ high: UInt64) -> Bool {
    if byte < 64 { return (low >> UInt64(byte)) & 1 == 1 }
    if byte < 128 { return (high >> UInt64(byte &- 64)) & 1 == 1 }
    return false
  }

  @inline(__always) static func isTchar(_ byte: UInt8) -> Bool { inSet(byte, tcharLow, tcharHigh) }
  @inline(__always) static func isTargetByte(_ byte: UInt8) -> Bool { inSet(byte, targetLow, targetHigh) }
  @inline(__always) static func isHexDigit(_ byte: UInt8) -> Bool { inSet(byte, hexLow, hexHigh) }
  @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
  @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool { byte == sp || byte == htab }
  /// A byte allowed in a field value: VCHAR, SP, HTAB or obs-text.
  @inline(__always) static func isFieldByte(_ byte: UInt8) -> Bool {
    byte >= 0x80 || inSet(byte, fieldLow, fieldHigh)
  }

  @inline(__always) static func hexValue(_ byte: UInt8) -> Int {
    if byte <= 0x39 { return Int(byte &- 0x30) }
    return Int((byte | 0x20) &- 0x61 &+ 10)
  }

  @inline(__always) static func lowercase(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
  }

  /// ASCII case-insensitive equality of `string` and `lowercased` (which must be lowercase).
  static func equalsIgnoringCase(_ string: String, _ lowercased: StaticString) -> Bool {
    var string = string
    return string.withUTF8 { equalsIgnoringCase(UnsafeRawBufferPointer($0), lowercased) }
  }

  /// ASCII case-insensitive equality of `bytes` and `lowercased` (which must be lowercase).
  static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercased: StaticString) -> Bool {
    guard bytes.count == lowercased.utf8CodeUnitCount else { return false }
    let other = lowercased.utf8Start
    for index in 0..<bytes.count where lowercase(bytes[index]) != other[index] { return false }
    return true
  }

  /// ASCII case-insensitive equality of two strings.
  static func equalsIgnoringCase(_ left: String, _ right: String) -> Bool {
    var right = right
    return right.withUTF8 { rightBytes in
      var left = left
      return left.withUTF8 { leftBytes in
        guard leftBytes.count == rightBytes.count else { return false }
        for index in 0..<leftBytes.count where lowercase(leftBytes[index]) != lowercase(rightBytes[index]) {
          return false
        }
        return true
      }
    }
  }

  /// The ASCII-lowercased copy of `string` (other bytes unchanged).
  static func lowercased(_ string: String) -> String {
    var string = string
    return string.withUTF8 { bytes in
      if !bytes.contains(where: { $0 &- 0x41 < 26 }) { return String(decoding: bytes, as: UTF8.self) }
      return String(unsafeUninitializedCapacity: bytes.count) { buffer in
        for index in 0..<bytes.count { buffer[index] = lowercase(bytes[index]) }
        return bytes.count
      }
    }
  }

  /// The comma-separated list elements of a field value, each trimmed of OWS, empty ones
  /// dropped (RFC 9110 section 5.6.1), as byte ranges of `value`.
  static func forEachListElement(_ value: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var value = value
    value.withUTF8 { bytes in
      var start = 0
      while start <= bytes.count {
        var end = start
        while end < bytes.count && bytes[end] != 0x2C { end += 1 }
        var low = start
        var high = end
        while low < high && isWhitespace(bytes[low]) { low += 1 }
        while high > low && isWhitespace(bytes[high - 1]) { high -= 1 }
        if low < high { body(UnsafeBufferPointer(rebasing: bytes[low..<high])) }
        start = end + 1
      }
    }
  }

  /// Parses a Content-Length value: digits only (no sign, space or list), saturating at
  /// Int.max. nil when the value is not 1*DIGIT.
  static func contentLength(_ value: String) -> Int? {
    var value = value
    return value.withUTF8 { bytes -> Int? in
      guard !bytes.isEmpty else { return nil }
      var result = 0
      for byte in bytes {
        guard isDigit(byte) else { return nil }
        let digit = Int(byte &- 0x30)
        result = result <= (Int.max - digit) / 10 ? result * 10 + digit : Int.max
      }
      return result
    }
  }
}
