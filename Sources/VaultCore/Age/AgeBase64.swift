/// age's base64: the standard alphabet without `=` padding, and only the canonical spelling
/// (zero padding bits) accepted, as age.md requires, so no header has two spellings.
///
/// Built on the vault's strict padded `Base64`: the text is checked to hold only alphabet
/// characters, padded to a multiple of four, and decoded there, where the padding bits are
/// checked.
enum AgeBase64 {
  static func encode(_ bytes: [UInt8]) -> String {
    var text = Base64.encode(bytes)
    while text.last == "=" { text.removeLast() }
    return text
  }

  /// The bytes of canonical unpadded base64 `text`, or nil (also for `=`, CR, LF or spaces,
  /// which lenient decoders skip).
  static func decode<Text: Collection>(_ text: Text) -> [UInt8]? where Text.Element == UInt8 {
    guard text.count % 4 != 1 else { return nil }
    for byte in text {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
        continue
      default:
        return nil
      }
    }
    let padding = (4 - text.count % 4) % 4
    return Base64.decode(String(decoding: text, as: UTF8.self) + String(repeating: "=", count: padding))
  }
}
