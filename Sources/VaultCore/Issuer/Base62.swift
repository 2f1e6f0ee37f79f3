/// Fixed-width base62 (`0-9A-Za-z`) of big-endian byte strings: no `+`, `/` or `=`, so a
/// double-click selects a whole token. Widths are fixed so every token has one length.
public enum Base62 {
  static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
  private static let values: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
    return table
  }()

  /// The digits needed for `byteCount` bytes: the least w with 62^w >= 256^byteCount.
  public static func width(forByteCount byteCount: Int) -> Int {
    // log2(62) = 5.954...; 8 * byteCount / 5.954 rounded up, checked exactly below.
    var width = 0
    var capacityBits = 0.0
    while capacityBits < Double(8 * byteCount) {
      width += 1
      capacityBits += 5.954_196_310_386_876
    }
    return width
  }

  /// `bytes` as exactly `width` digits, most significant first.
  public static func encode(_ bytes: [UInt8], width: Int) -> String {
    var number = bytes
    var digits = [UInt8](repeating: alphabet[0], count: width)
    for position in stride(from: width - 1, through: 0, by: -1) {
      // Divide the big-endian number by 62 in place; the remainder is the next digit.
      var remainder = 0
      for index in number.indices {
        let accumulator = remainder << 8 | Int(number[index])
        number[index] = UInt8(accumulator / 62)
        remainder = accumulator % 62
      }
      digits[position] = alphabet[remainder]
    }
    precondition(number.allSatisfy { $0 == 0 }, "value does not fit in \(width) base62 digits")
    return String(decoding: digits, as: UTF8.self)
  }

  /// The `byteCount`-byte big-endian value of `text`, or nil when a character is not base62
  /// or the value does not fit (so each value has exactly one spelling at a given width).
  public static func decode<Digits: Collection>(_ text: Digits, byteCount: Int) -> [UInt8]?
  where Digits.Element == UInt8 {
    var number = [UInt8](repeating: 0, count: byteCount)
    // What is decoded may be a token's secret: a number given up half-way is zeroed, not just
    // dropped (the caller zeroes the one it gets).
    func abandon() -> [UInt8]? {
      number.withUnsafeMutableBytes { raw in
        for offset in raw.indices { raw[offset] = 0 }
      }
      return nil
    }
    for character in text {
      let digit = values[Int(character)]
      guard digit != 0xFF else { return abandon() }
      // number = number * 62 + digit
      var carry = Int(digit)
      for index in number.indices.reversed() {
        let accumulator = Int(number[index]) * 62 + carry
        number[index] = UInt8(accumulator & 0xFF)
        carry = accumulator >> 8
      }
      guard carry == 0 else { return abandon() }
    }
    return number
  }
}
