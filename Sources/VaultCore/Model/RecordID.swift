import VaultCrypto

/// A record's random 128-bit identity, written as 32 lowercase hex digits. It never changes,
/// so renaming a key keeps its identity, and it is bound into every ciphertext of the record.
public struct RecordID: Hashable, Sendable, CustomStringConvertible {
  // Two words rather than an array: ids are hashed once per record on every read.
  private let high: UInt64
  private let low: UInt64

  public var bytes: [UInt8] {
    withUnsafeBytes(of: high.bigEndian) { Array($0) } + withUnsafeBytes(of: low.bigEndian) { Array($0) }
  }

  /// Parses exactly 32 lowercase hex digits, the only spelling the file uses.
  public init?(hex: String) {
    var text = hex
    guard let id = text.withUTF8({ RecordID(hexDigits: $0) }) else { return nil }
    self = id
  }

  /// The same, straight from the file's bytes (record lines hold thousands of ids). One table
  /// look-up per digit; a digit that is not lowercase hex maps to 0xFF, and the OR of all 32
  /// values is checked once.
  init?(hexDigits digits: UnsafeBufferPointer<UInt8>) {
    guard digits.count == 32 else { return nil }
    var seen: UInt8 = 0
    let words = Hex.lowercaseValues.withUnsafeBufferPointer { table -> (UInt64, UInt64) in
      var high: UInt64 = 0
      var low: UInt64 = 0
      for index in 0..<16 {
        let top = table[Int(digits[index])]
        let bottom = table[Int(digits[index + 16])]
        seen |= top | bottom
        high = high << 4 | UInt64(top & 0xF)
        low = low << 4 | UInt64(bottom & 0xF)
      }
      return (high, low)
    }
    guard seen & 0xF0 == 0 else { return nil }
    high = words.0
    low = words.1
  }

  /// Its two 64-bit halves, most significant first: how the run cache stores it.
  var words: (high: UInt64, low: UInt64) { (high, low) }

  init(words: (high: UInt64, low: UInt64)) {
    high = words.high
    low = words.low
  }

  private init(bytes: [UInt8]) {
    high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
    low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
  }

  /// A fresh random identity.
  public static func random() throws -> RecordID {
    RecordID(bytes: try SecureRandom.bytes(count: 16))
  }

  public var description: String {
    // Written straight into the string's storage: ids are spelled into the associated data of
    // every key a run opens.
    String(unsafeUninitializedCapacity: 32) { text in
      spell(into: UnsafeMutableRawBufferPointer(text))
      return 32
    }
  }

  /// Appends the 32 hex digits to `bytes`: the associated data of a run's thousands of boxes is
  /// built as bytes, with no string per id. Spelled on the stack and appended in one copy.
  func appendHex(to bytes: inout [UInt8]) {
    var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    withUnsafeMutableBytes(of: &digits) { text in
      spell(into: text)
      // Typed, so the append is one copy (a raw buffer is appended byte by byte); rebound for
      // the copy only, as the tuple's memory is bound to UInt64.
      text.withMemoryRebound(to: UInt8.self) { bytes.append(contentsOf: $0) }
    }
  }

  /// The 32 digits into `text`, which holds at least 32 bytes.
  private func spell(into text: UnsafeMutableRawBufferPointer) {
    for index in 0..<16 {
      text[15 - index] = Self.hexDigit(high >> (4 * UInt64(index)))
      text[31 - index] = Self.hexDigit(low >> (4 * UInt64(index)))
    }
  }

  private static func hexDigit(_ word: UInt64) -> UInt8 {
    let nibble = UInt8(truncatingIfNeeded: word & 0xF)
    return nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
  }

}

extension RecordID: Comparable {
  /// The order of the ids' hex spellings (the order the usage state file lists them in).
  public static func < (left: RecordID, right: RecordID) -> Bool {
    (left.high, left.low) < (right.high, right.low)
  }
}

/// Lowercase hexadecimal, as the file writes ids, checksums and MACs.
public enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  /// Each byte's value as a lowercase hex digit, 0xFF for any other byte: the one table the
  /// readers of ids and of `\u00XX` escapes look digits up in.
  static let lowercaseValues: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (value, digit) in digits.enumerated() { table[Int(digit)] = UInt8(value) }
    return table
  }()

  /// A lowercase hex digit's value; nil for any other byte (uppercase included).
  static func lowercaseValue(_ digit: UInt8) -> UInt8? {
    let value = lowercaseValues[Int(digit)]
    return value == 0xFF ? nil : value
  }

  public static func encode(_ bytes: [UInt8]) -> String {
    var text = [UInt8]()
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// Decodes upper- or lowercase hex; nil for an odd length or a non-hex character.
  public static func decode(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    var bytes = [UInt8]()
    bytes.reserveCapacity(utf8.count / 2)
    var index = 0
    while index < utf8.count {
      guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
      index += 2
    }
    return bytes
  }

  private static func value(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}
