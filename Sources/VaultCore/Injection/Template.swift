/// `vault inject` templates: `{{ vault://NAME }}` references (spaces inside the braces
/// optional) replaced by the values of the named provider keys.
public struct Template: Sendable {
  /// A piece of the template: literal bytes, or a reference to a key by name.
  public enum Part: Equatable, Sendable {
    case text([UInt8])
    case reference(String)
  }

  public let parts: [Part]

  /// The names referenced, in order of first use.
  public var references: [String] {
    var seen = Set<String>()
    return parts.compactMap { part in
      guard case .reference(let name) = part, seen.insert(name).inserted else { return nil }
      return name
    }
  }

  /// Splits `bytes`; a `{{` that starts a `vault://` reference but is not a well-formed one is
  /// an error with its line number (a typo must not pass through silently).
  public init(_ bytes: [UInt8]) throws {
    var parts: [Part] = []
    var literal: [UInt8] = []
    var index = 0
    let scheme = Array("vault://".utf8)
    while index < bytes.count {
      guard bytes[index] == UInt8(ascii: "{"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{") else {
        literal.append(bytes[index])
        index += 1
        continue
      }
      var cursor = index + 2
      while cursor < bytes.count, bytes[cursor] == 0x20 || bytes[cursor] == 0x09 { cursor += 1 }
      guard bytes[cursor...].starts(with: scheme) else {
        literal.append(bytes[index])
        index += 1
        continue
      }
      let line = bytes[0..<index].filter { $0 == 0x0A }.count + 1
      cursor += scheme.count
      let nameStart = cursor
      while cursor < bytes.count, bytes[cursor] != 0x20, bytes[cursor] != 0x09, bytes[cursor] != UInt8(ascii: "}"),
        bytes[cursor] != 0x0A
      {
        cursor += 1
      }
      let name = String(decoding: bytes[nameStart..<cursor], as: UTF8.self)
      while cursor < bytes.count, bytes[cursor] == 0x20 || bytes[cursor] == 0x09 { cursor += 1 }
      guard Names.isIdentifier(name), cursor + 1 < bytes.count, bytes[cursor] == UInt8(ascii: "}"),
        bytes[cursor + 1] == UInt8(ascii: "}")
      else {
        throw VaultError.invalidInput(
          "template line \(line): a vault:// reference is not of the form {{ vault://NAME }}")
      }
      if !literal.isEmpty { parts.append(.text(literal)) }
      literal = []
      parts.append(.reference(name))
      index = cursor + 2
    }
    if !literal.isEmpty { parts.append(.text(literal)) }
    self.parts = parts
  }

  /// The template with every reference replaced.
  public func render(_ values: [String: SecretBytes]) -> [UInt8] {
    parts.flatMap { part -> [UInt8] in
      switch part {
      case .text(let bytes): return bytes
      case .reference(let name): return values[name]?.copyBytes() ?? []
      }
    }
  }
}
