/// Appends JSON text to a byte buffer. The vault file's layout is fixed by `VaultCodec`; this
/// type only guarantees that strings are escaped the same way every time: `"` and `\` as
/// `\"` and `\\`, the other characters below U+0020 as `\u00XX` (lowercase hex), everything
/// else as raw UTF-8.
public struct JSONWriter {
  public private(set) var bytes: [UInt8] = []
  /// For output to people (`--json`): also escape DEL, the C1 controls and the other scalars
  /// `DisplaySafety` calls unsafe, as `\uXXXX`, so JSON printed on a terminal holds no escape
  /// sequence and still reads back byte-identical. The vault file is written without it.
  let escapesUnsafeScalars: Bool

  public init(reservingCapacity capacity: Int = 0, escapingUnsafeScalars: Bool = false) {
    bytes.reserveCapacity(capacity)
    escapesUnsafeScalars = escapingUnsafeScalars
  }

  public mutating func raw(_ text: StaticString) {
    bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }

  /// Bytes already in the file's spelling, copied as they are.
  mutating func raw(_ text: ArraySlice<UInt8>) {
    bytes.append(contentsOf: text)
  }

  public mutating func string(_ text: String) {
    bytes.append(UInt8(ascii: "\""))
    let utf8 = text.utf8
    // Fast path: most strings (ids, names, base64, dates) need no escaping; copy them whole.
    // (Every unsafe scalar above U+007E starts with byte 0x7F, 0xC2, 0xD8 or 0xE2.)
    if !utf8.contains(where: {
      $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\")
        || (escapesUnsafeScalars && ($0 == 0x7F || $0 == 0xC2 || $0 == 0xD8 || $0 == 0xE2))
    }) {
      bytes.append(contentsOf: utf8)
      bytes.append(UInt8(ascii: "\""))
      return
    }
    if escapesUnsafeScalars {
      for scalar in text.unicodeScalars {
        if scalar == "\"" {
          raw("\\\"")
        } else if scalar == "\\" {
          raw("\\\\")
        } else if DisplaySafety.isUnsafe(scalar) {
          raw("\\u")
          for shift in [12, 8, 4, 0] { bytes.append(Self.hexDigits[Int((scalar.value >> UInt32(shift)) & 0x0F)]) }
        } else {
          bytes.append(contentsOf: String(scalar).utf8)
        }
      }
      bytes.append(UInt8(ascii: "\""))
      return
    }
    for byte in utf8 {
      switch byte {
      case UInt8(ascii: "\""): raw("\\\"")
      case UInt8(ascii: "\\"): raw("\\\\")
      case 0..<0x20:
        raw("\\u00")
        bytes.append(Self.hexDigits[Int(byte >> 4)])
        bytes.append(Self.hexDigits[Int(byte & 0x0F)])
      default: bytes.append(byte)
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }

  /// `"<base64>"`, written straight into the buffer.
  mutating func base64(_ value: [UInt8]) {
    bytes.append(UInt8(ascii: "\""))
    Base64.encode(value, into: &bytes)
    bytes.append(UInt8(ascii: "\""))
  }

  /// `"<RFC 3339 time>"`.
  mutating func timestamp(_ value: Timestamp) {
    bytes.append(UInt8(ascii: "\""))
    value.appendRFC3339(to: &bytes)
    bytes.append(UInt8(ascii: "\""))
  }

  public mutating func integer<Integer: BinaryInteger>(_ value: Integer) {
    bytes.append(contentsOf: Array(String(value).utf8))
  }

  public mutating func bool(_ value: Bool) {
    if value { raw("true") } else { raw("false") }
  }

  /// `"name":` — a member name and its colon.
  public mutating func name(_ text: String) {
    string(text)
    bytes.append(UInt8(ascii: ":"))
  }

  public mutating func stringArray(_ elements: [String]) {
    bytes.append(UInt8(ascii: "["))
    for (index, element) in elements.enumerated() {
      if index > 0 { bytes.append(UInt8(ascii: ",")) }
      string(element)
    }
    bytes.append(UInt8(ascii: "]"))
  }

  public mutating func optionalString(_ text: String?) {
    if let text { string(text) } else { raw("null") }
  }

  public mutating func byte(_ ascii: Unicode.Scalar) {
    bytes.append(UInt8(ascii: ascii))
  }

  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
