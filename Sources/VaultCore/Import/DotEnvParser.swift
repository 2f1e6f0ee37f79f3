/// Reads the `.env` files people keep plaintext keys in, so `vault import` can move them into
/// the vault. Accepted, one per line: `NAME=value`, `export NAME=value`, values in single
/// quotes (literal), double quotes (`\n`, `\"`, `\\` escapes) or bare (trimmed, ending at ` #`);
/// blank lines and `#` comments. Anything else is an error naming the line, never its content.
public enum DotEnvParser {
  public struct Entry: Sendable {
    public var name: String
    public var value: [UInt8]
    public var line: Int
  }

  public static func parse(_ bytes: [UInt8]) throws -> [Entry] {
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw VaultError.invalidInput(".env file is not UTF-8 text")
    }
    var entries: [Entry] = []
    var seen = Set<String>()
    // Split on the LF byte, not on Characters: Swift counts CRLF as one Character, so a
    // Windows file would otherwise be one long line whose first value swallows the rest.
    for (offset, rawLine) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
      let lineNumber = offset + 1
      var lineBytes = rawLine
      if lineBytes.last == 0x0D { lineBytes = lineBytes.dropLast() }
      var line = Substring(String(decoding: lineBytes, as: UTF8.self))
      line = trimmed(line)
      if line.isEmpty || line.hasPrefix("#") { continue }
      if line.hasPrefix("export ") { line = trimmed(line.dropFirst("export ".count)) }
      guard let equals = line.firstIndex(of: "=") else {
        throw VaultError.invalidInput(".env line \(lineNumber): expected NAME=value")
      }
      let name = String(trimmed(line[..<equals]))
      guard Names.isIdentifier(name) else {
        throw VaultError.invalidInput(".env line \(lineNumber): invalid variable name")
      }
      guard seen.insert(name).inserted else {
        throw VaultError.invalidInput(".env line \(lineNumber): \(name) is set twice")
      }
      let value = try parseValue(trimmed(line[line.index(after: equals)...]), line: lineNumber)
      entries.append(Entry(name: name, value: Array(value.utf8), line: lineNumber))
    }
    return entries
  }

  private static func parseValue(_ text: Substring, line: Int) throws -> String {
    guard let quote = text.first, quote == "'" || quote == "\"" else {
      // A bare value ends at a comment introduced by whitespace and '#'.
      var value = text
      var previous: Character? = nil
      for index in text.indices {
        if text[index] == "#", previous == " " || previous == "\t" {
          value = text[..<index]
          break
        }
        previous = text[index]
      }
      return String(trimmed(value))
    }
    var result = ""
    var index = text.index(after: text.startIndex)
    while index < text.endIndex {
      let character = text[index]
      if character == quote {
        let rest = trimmed(text[text.index(after: index)...])
        guard rest.isEmpty || rest.hasPrefix("#") else {
          throw VaultError.invalidInput(".env line \(line): unexpected text after the closing quote")
        }
        return result
      }
      if quote == "\"" && character == "\\" {
        index = text.index(after: index)
        guard index < text.endIndex else { break }
        switch text[index] {
        case "n": result.append("\n")
        case "t": result.append("\t")
        case "r": result.append("\r")
        case "\"": result.append("\"")
        case "\\": result.append("\\")
        default:
          result.append("\\")
          result.append(text[index])
        }
      } else {
        result.append(character)
      }
      index = text.index(after: index)
    }
    throw VaultError.invalidInput(
      ".env line \(line): the quoted value is not closed (multi-line values are not supported)")
  }

  private static func trimmed(_ text: Substring) -> Substring {
    var result = text
    while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
    while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
    return result
  }
}
