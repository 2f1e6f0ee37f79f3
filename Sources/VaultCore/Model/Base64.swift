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
    guard text.count >= 4 else { return [] }
    var padding = 0
    if text[text.count - 1] == UInt8(ascii: "=") { padding += 1 }
    if text[text.count - 2] == UInt8(ascii: "=") { padding += 1 }
    let count = text.count / 4 * 3 - padding
    // A sealed box (the usual input: a run decodes one per key and per grant) is decoded on the
    // stack and copied into an array of its size. An array made by count (`[UInt8](repeating:
    // count:)`, or with uninitialised capacity) goes through the standard library's unspecialised
    // allocator, which looks up the array's type metadata on every call: 650 instructions, more
    // than decoding a box. Copying from a buffer is specialised here and costs a memcpy.
    if count <= 512 {
      return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
        decode(text, padding: padding, into: buffer) ? Array(buffer) : nil
      }
    }
    var bytes = [UInt8](repeating: 0, count: count)
    let valid = bytes.withUnsafeMutableBufferPointer { decode(text, padding: padding, into: $0) }
    return valid ? bytes : nil
  }

  /// Decodes `text` (a multiple of 4 long, ending in `padding` "=") into `output`, exactly as
  /// long as the bytes it spells; false if it is not canonical base64.
  private static func decode(
    _ text: UnsafeBufferPointer<UInt8>, padding: Int, into output: UnsafeMutableBufferPointer<UInt8>
  )
    -> Bool
  {
    // One table look-up per character, written in place. Every value a valid character maps to
    // is below 64, and 0xFF marks the rest, so OR-ing them all and testing the top bits once
    // checks every character.
    var seen: UInt8 = 0
    var last: UInt32 = 0
    values.withUnsafeBufferPointer { table in
      var index = 0
      var written = 0
      while index + 4 < text.count {
        let a = table[Int(text[index])]
        let b = table[Int(text[index + 1])]
        let c = table[Int(text[index + 2])]
        let d = table[Int(text[index + 3])]
        seen |= a | b | c | d
        let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
        output[written] = UInt8(truncatingIfNeeded: group >> 16)
        output[written + 1] = UInt8(truncatingIfNeeded: group >> 8)
        output[written + 2] = UInt8(truncatingIfNeeded: group)
        index += 4
        written += 3
      }
      // The last group: its padding characters stand for zero bits.
      for offset in 0..<4 {
        let value = offset < 4 - padding ? table[Int(text[index + offset])] : 0
        seen |= value
        last = last << 6 | UInt32(value & 0x3F)
      }
      output[written] = UInt8(truncatingIfNeeded: last >> 16)
      if padding < 2 { output[written + 1] = UInt8(truncatingIfNeeded: last >> 8) }
      if padding < 1 { output[written + 2] = UInt8(truncatingIfNeeded: last) }
    }
    guard seen & 0xC0 == 0 else { return false }
    // Canonical: the bits the padding stands for must be zero.
    return !(padding == 1 && last & 0xFF != 0 || padding == 2 && last & 0xFFFF != 0)
  }
}
