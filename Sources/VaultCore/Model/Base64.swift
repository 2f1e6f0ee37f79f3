/// Standard base64 (RFC 4648 section 4, with padding), as the file writes sealed boxes and salts.
/// Ours rather than Foundation's so decoding is strict in one pass: only the canonical spelling
/// (the one `encode` writes, with zero padding bits) is accepted, so a file has exactly one
/// spelling and a flipped padding bit is caught like any other edit.
public enum Base64 {
  private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  private static let values: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
    return table
  }()

  public static func encode(_ bytes: [UInt8]) -> String {
    var text = [UInt8]()
    text.reserveCapacity((bytes.count + 2) / 3 * 4)
    encode(bytes, into: &text)
    return String(decoding: text, as: UTF8.self)
  }

  /// Appends the base64 of `bytes` to `text` (the vault writer's path: no intermediate String).
  /// No `reserveCapacity` here: on the writer's whole-file buffer it would reallocate to the
  /// exact size asked, giving up the array's geometric growth.
  static func encode(_ bytes: [UInt8], into text: inout [UInt8]) {
    var index = 0
    while index + 3 <= bytes.count {
      let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
      text.append(alphabet[Int(group >> 18 & 63)])
      text.append(alphabet[Int(group >> 12 & 63)])
      text.append(alphabet[Int(group >> 6 & 63)])
      text.append(alphabet[Int(group & 63)])
      index += 3
    }
    let rest = bytes.count - index
    if rest > 0 {
      let group = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
      text.append(alphabet[Int(group >> 18 & 63)])
      text.append(alphabet[Int(group >> 12 & 63)])
      text.append(rest == 2 ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
      text.append(UInt8(ascii: "="))
    }
  }

  /// The bytes of canonical base64 `text`, or nil.
  public static func decode(_ text: String) -> [UInt8]? {
    var text = text
    return text.withUTF8 { decode($0) }
  }

  static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    guard text.count % 4 == 0 else { return nil }
    var padding = 0
    if text.count >= 4 {
      if text[text.count - 1] == UInt8(ascii: "=") { padding += 1 }
      if text[text.count - 2] == UInt8(ascii: "=") { padding += 1 }
    }
    // Written in place, one table look-up per character: a run decodes three boxes per key.
    var valid = true
    let bytes = values.withUnsafeBufferPointer { table in
      [UInt8](unsafeUninitializedCapacity: text.count / 4 * 3 - padding) { output, initialized in
        var written = 0
        var index = 0
        while index < text.count {
          let isLast = index + 4 == text.count
          var group: UInt32 = 0
          for offset in 0..<4 {
            if isLast && offset >= 4 - padding {
              group <<= 6
              continue
            }
            let value = table[Int(text[index + offset])]
            guard value != 0xFF else {
              valid = false
              initialized = written
              return
            }
            group = group << 6 | UInt32(value)
          }
          output[written] = UInt8(group >> 16 & 0xFF)
          written += 1
          if !(isLast && padding == 2) {
            output[written] = UInt8(group >> 8 & 0xFF)
            written += 1
          }
          if !(isLast && padding >= 1) {
            output[written] = UInt8(group & 0xFF)
            written += 1
          }
          if isLast {
            // Canonical: the bits the padding stands for must be zero.
            if padding == 1 && group & 0xFF != 0 || padding == 2 && group & 0xFFFF != 0 { valid = false }
          }
          index += 4
        }
        initialized = written
      }
    }
    return valid ? bytes : nil
  }
}
