import VaultCrypto

/// A record's random 128-bit identity, written as 32 lowercase hex digits. It never changes,
/// so renaming a key keeps its identity, and it is bound into every ciphertext of the record.
public struct RecordID: Hashable, Sendable, CustomStringConvertible {
  public let bytes: [UInt8]

  public init?(hex: String) {
    guard hex.utf8.count == 32, let bytes = Hex.decode(hex), Hex.encode(bytes) == hex else { return nil }
    self.bytes = bytes
  }

  private init(bytes: [UInt8]) {
    self.bytes = bytes
  }

  /// A fresh random identity.
  public static func random() throws -> RecordID {
    RecordID(bytes: try SecureRandom.bytes(count: 16))
  }

  public var description: String { Hex.encode(bytes) }
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
