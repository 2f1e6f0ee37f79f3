/// `vault env` output: the plan's variables as dotenv, shell or JSON text.
public enum EnvironmentFormat: String, CaseIterable, Sendable {
  case dotenv
  case shell
  case json

  /// The text for `variables` (name and value pairs, in order).
  public func render(_ variables: [(name: String, value: [UInt8])]) -> [UInt8] {
    switch self {
    case .dotenv:
      return variables.flatMap { Array("\($0.name)=".utf8) + Self.dotenvValue($0.value) + [0x0A] }
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

  /// A plain value as is (what `docker --env-file` reads literally); anything a dotenv reader
  /// would change (quotes, `#`, edge spaces, newlines, backslashes, `$`) in double quotes with
  /// `\\`, `\"`, `\n`, `\r`, `\t` escapes.
  static func dotenvValue(_ value: [UInt8]) -> [UInt8] {
    let plain = value.allSatisfy { byte in
      byte > 0x20 && byte != 0x7F && !Array("\"'#\\$`".utf8).contains(byte)
    }
    if plain && !value.isEmpty { return value }
    var quoted: [UInt8] = [0x22]
    for byte in value {
      switch byte {
      case 0x5C: quoted += Array("\\\\".utf8)
      case 0x22: quoted += Array("\\\"".utf8)
      case 0x0A: quoted += Array("\\n".utf8)
      case 0x0D: quoted += Array("\\r".utf8)
      case 0x09: quoted += Array("\\t".utf8)
      default: quoted.append(byte)
      }
    }
    return quoted + [0x22]
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
