/// The model a request names, found without building a JSON tree (a 32 MiB body must not
/// become half a gigabyte of nodes): the top-level `"model"` member of a JSON object body, and
/// the `/models/<model>:<verb>` segment of a Google-style path.
enum RequestModel {
  enum Found: Equatable {
    case none
    case model(String)
    /// Named twice with different values, or the body is not one well-formed top-level object:
    /// providers may read it otherwise than the gateway, so it must not choose a key.
    case ambiguous
  }

  /// Every model the request names: the path's first (Google routes by it), then the body's
  /// if it is another. Each must be one the agent key may use.
  static func find(body: [UInt8], path: String) -> [String]? {
    var models = model(inPath: path).map { [$0] } ?? []
    switch model(inBody: body) {
    case .ambiguous: return nil
    case .model(let found) where !models.contains(found): models.append(found)
    default: break
    }
    return models
  }

  static func model(inPath path: String) -> String? {
    let segments = path.split(separator: "/")
    guard let index = segments.firstIndex(of: "models"), index + 1 < segments.count else { return nil }
    let model = segments[index + 1].prefix { $0 != ":" }
    return model.isEmpty ? nil : String(model)
  }

  /// The top-level `model` string of a JSON object. Bodies that are not JSON objects (multipart,
  /// empty) have none; an object the scanner cannot read whole, or with `model` twice, is ambiguous.
  static func model(inBody body: [UInt8]) -> Found {
    var scanner = Scanner(bytes: body)
    scanner.skipWhitespace()
    // Not a JSON object (multipart, a byte order mark, empty): it names no model the gateway
    // can see, and only a key the scope grants whole may serve it (AgentAccess.key).
    guard scanner.peek == UInt8(ascii: "{") else { return .none }
    scanner.index += 1
    var found: String? = nil
    scanner.skipWhitespace()
    if scanner.peek == UInt8(ascii: "}") { return .none }
    while true {
      scanner.skipWhitespace()
      guard let name = scanner.string() else { return .ambiguous }
      scanner.skipWhitespace()
      guard scanner.take(UInt8(ascii: ":")) else { return .ambiguous }
      scanner.skipWhitespace()
      if name == "model" {
        guard let value = scanner.string() else { return .ambiguous }
        if let found, found != value { return .ambiguous }
        found = value
      } else if !scanner.skipValue() {
        return .ambiguous
      }
      scanner.skipWhitespace()
      if scanner.take(UInt8(ascii: ",")) { continue }
      guard scanner.take(UInt8(ascii: "}")) else { return .ambiguous }
      scanner.skipWhitespace()
      guard scanner.index == body.count else { return .ambiguous }
      return found.map(Found.model) ?? .none
    }
  }

  private struct Scanner {
    let bytes: [UInt8]
    var index = 0

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }
    mutating func take(_ byte: UInt8) -> Bool {
      guard peek == byte else { return false }
      index += 1
      return true
    }

    mutating func skipWhitespace() {
      while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    /// A JSON string, decoded (escapes included, `\u` surrogate pairs joined); nil if malformed.
    mutating func string() -> String? {
      guard take(UInt8(ascii: "\"")) else { return nil }
      var scalars = String.UnicodeScalarView()
      var raw: [UInt8] = []
      func flush() -> Bool {
        guard !raw.isEmpty else { return true }
        guard let text = String(validating: raw, as: UTF8.self) else { return false }
        scalars.append(contentsOf: text.unicodeScalars)
        raw.removeAll(keepingCapacity: true)
        return true
      }
      while let byte = peek {
        index += 1
        switch byte {
        case UInt8(ascii: "\""):
          return flush() ? String(scalars) : nil
        case UInt8(ascii: "\\"):
          guard flush(), let escape = peek else { return nil }
          index += 1
          switch escape {
          case UInt8(ascii: "\""): scalars.append("\"")
          case UInt8(ascii: "\\"): scalars.append("\\")
          case UInt8(ascii: "/"): scalars.append("/")
          case UInt8(ascii: "b"): scalars.append("\u{8}")
          case UInt8(ascii: "f"): scalars.append("\u{C}")
          case UInt8(ascii: "n"): scalars.append("\n")
          case UInt8(ascii: "r"): scalars.append("\r")
          case UInt8(ascii: "t"): scalars.append("\t")
          case UInt8(ascii: "u"):
            guard var unit = hex4() else { return nil }
            if (0xD800..<0xDC00).contains(unit) {
              guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(), (0xDC00..<0xE000).contains(low)
              else { return nil }
              unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(unit) else { return nil }
            scalars.append(scalar)
          default: return nil
          }
        case 0..<0x20:
          return nil
        default:
          raw.append(byte)
        }
      }
      return nil
    }

    private mutating func hex4() -> UInt32? {
      guard index + 4 <= bytes.count else { return nil }
      var value: UInt32 = 0
      for byte in bytes[index..<(index + 4)] {
        guard let digit = Self.hexDigit(byte) else { return nil }
        value = value << 4 | digit
      }
      index += 4
      return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
      default: return nil
      }
    }

    /// Skips one value of any kind: strings with their escapes, and nested objects and arrays
    /// by counting brackets outside strings (the value's inner syntax is the provider's concern).
    mutating func skipValue() -> Bool {
      guard let first = peek else { return false }
      if first == UInt8(ascii: "\"") { return skipString() }
      if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
        var depth = 0
        while let byte = peek {
          switch byte {
          case UInt8(ascii: "\""):
            guard skipString() else { return false }
            continue
          case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
          case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth == 0 {
              index += 1
              return true
            }
          default: break
          }
          index += 1
        }
        return false
      }
      // A number or a literal: up to the next delimiter.
      let start = index
      while let byte = peek, byte != UInt8(ascii: ","), byte != UInt8(ascii: "}"), byte != UInt8(ascii: "]"),
        byte != 0x20, byte != 0x0A, byte != 0x0D, byte != 0x09
      {
        index += 1
      }
      return index > start
    }

    private mutating func skipString() -> Bool {
      guard take(UInt8(ascii: "\"")) else { return false }
      while let byte = peek {
        index += 1
        if byte == UInt8(ascii: "\\") {
          index += 1
        } else if byte == UInt8(ascii: "\"") {
          return true
        }
      }
      return false
    }
  }
}
