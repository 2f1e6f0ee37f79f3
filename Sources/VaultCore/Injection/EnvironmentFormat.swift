/// `vault env` output: the plan's variables as dotenv, shell or JSON text.
public enum EnvironmentFormat: String, CaseIterable, Sendable {
  case dotenv
  case shell
  case json

  /// The text for `variables` (name and value pairs, in order). Throws `invalidInput` naming the
  /// variable (never the value) when a value cannot be written as dotenv that every reader
  /// reads back byte-identical (see `isPortableDotenvValue`).
  public func render(_ variables: [(name: String, value: [UInt8])]) throws -> [UInt8] {
    switch self {
    case .dotenv:
      for variable in variables where !Self.isPortableDotenvValue(variable.value) {
        throw VaultError.invalidInput(
          "the value of \(variable.name) cannot be written as dotenv that every reader reads back unchanged "
            + "(it holds #, $, a control character, or a quote or space at an end); use --format shell or json")
      }
      return variables.flatMap { Array("\($0.name)=".utf8) + $0.value + [0x0A] }
    case .shell:
      return variables.flatMap { Array("export \($0.name)=".utf8) + Self.shellQuoted($0.value) + [0x0A] }
    case .json:
      var writer = JSONWriter()
      writer.raw("{")
      for (index, variable) in variables.enumerated() {
        writer.raw(index == 0 ? "\n" : ",\n")
        writer.name(variable.name)
        writer.string(String(decoding: variable.value, as: UTF8.self))
      }
      writer.raw(variables.isEmpty ? "}\n" : "\n}\n")
      return writer.bytes
    }
  }

  /// Whether `value` reads back byte-identical, written bare (`NAME=value`, no quotes), in every
  /// common dotenv reader: python-dotenv, docker `--env-file` and Node's dotenv (the npm package
  /// and `node --env-file`). No quoting serves all of them: docker keeps quotes as part of the
  /// value, while the others strip them. So values are written bare, and a value is refused
  /// unless it avoids what some reader changes in a bare value:
  /// - a control character, newlines included (a line ends; docker drops a trailing CR);
  /// - `#` (Node's dotenv ends the value there; python-dotenv after a space);
  /// - `$` (python-dotenv expands `${NAME}`; docker compose and dotenv-expand expand `$NAME`);
  /// - a quote (`'`, `"`, `` ` ``) at either end (python-dotenv and Node strip a quoted value);
  /// - a space or any non-ASCII character at either end (python-dotenv and Node trim
  ///   whitespace, Unicode whitespace included).
  /// Everything else (spaces, quotes and backslashes inside, `=`, non-ASCII inside) is read as is.
  static func isPortableDotenvValue(_ value: [UInt8]) -> Bool {
    guard let first = value.first, let last = value.last else { return false }
    let quotes: Set<UInt8> = [UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`")]
    for edge in [first, last] where edge <= 0x20 || edge >= 0x7F || quotes.contains(edge) {
      return false
    }
    return value.allSatisfy { byte in
      byte >= 0x20 && byte != 0x7F && byte != UInt8(ascii: "#") && byte != UInt8(ascii: "$")
    }
  }

  /// POSIX shell single quotes: safe for `eval`, since nothing inside them is special; a `'`
  /// becomes `'\''`.
  static func shellQuoted(_ value: [UInt8]) -> [UInt8] {
    var quoted: [UInt8] = [0x27]
    for byte in value {
      if byte == 0x27 { quoted += Array("'\\''".utf8) } else { quoted.append(byte) }
    }
    return quoted + [0x27]
  }
}
