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

  /// The same, straight from the file's bytes (record lines hold thousands of ids).
  init?(hexDigits digits: UnsafeBufferPointer<UInt8>) {
    guard digits.count == 32 else { return nil }
    var words: (UInt64, UInt64) = (0, 0)
    for index in 0..<32 {
      let digit = digits[index]
      let value: UInt8
      switch digit {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): value = digit &- UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): value = digit &- UInt8(ascii: "a") &+ 10
      default: return nil
      }
      if index < 16 { words.0 = words.0 << 4 | UInt64(value) } else { words.1 = words.1 << 4 | UInt64(value) }
    }
    high = words.0
    low = words.1
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
      for index in 0..<16 {
        text[15 - index] = Self.hexDigit(high >> (4 * UInt64(index)))
        text[31 - index] = Self.hexDigit(low >> (4 * UInt64(index)))
      }
      return 32
    }
  }

  /// Appends the 32 hex digits to `bytes`: the associated data of a run's thousands of boxes is
  /// built as bytes, with no string per id.
  func appendHex(to bytes: inout [UInt8]) {
    for index in (0..<16).reversed() { bytes.append(Self.hexDigit(high >> (4 * UInt64(index)))) }
    for index in (0..<16).reversed() { bytes.append(Self.hexDigit(low >> (4 * UInt64(index)))) }
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
