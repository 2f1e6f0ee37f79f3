/// The rules for what a user may type as a key name, provider, model or environment variable.
/// Each check throws `VaultError.invalidInput` with one line that says which rule was broken
/// and never echoes a value.
public enum Names {
  /// The longest key name or environment variable name.
  public static let maximumNameLength = 128

  /// Whether `name` is an environment-variable-safe identifier: `[A-Za-z_][A-Za-z0-9_]*`, 1 to 128 bytes.
  public static func isIdentifier(_ name: String) -> Bool {
    // Over the bytes in place: every key's name is checked on every read, and again for each
    // variable a run injects.
    var name = name
    return name.withUTF8 { isIdentifier(bytes: $0) }
  }

  /// The same over UTF-8 bytes.
  static func isIdentifier(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let first = bytes.first, bytes.count <= maximumNameLength, isLetterOrUnderscore(first) else {
      return false
    }
    for byte in bytes where !isLetterOrUnderscore(byte) && byte &- UInt8(ascii: "0") >= 10 { return false }
    return true
  }

  /// Whether `validateEnvironmentName` accepts the name these UTF-8 bytes spell, checked in
  /// place: a launch from the run cache checks every variable again before it makes a string of
  /// it, and only a refused name pays for the error's words.
  static func isInjectable(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    isIdentifier(bytes: bytes) && InjectedNamePolicy.refusal(forBytes: bytes) == nil
  }

  /// Checks a provider key's name (also the variable it is injected under).
  public static func validateKeyName(_ name: String) throws {
    try PastedSecret.refuse(name, as: "key name")
    try validateVariable(name, role: "key name")
  }

  /// Checks a name used to find a key that may already exist: the identifier rule only, so a
  /// key whose name a newer policy refuses can still be read, renamed or removed (it is still
  /// never injected under that name).
  public static func validateLookupName(_ name: String) throws {
    try PastedSecret.refuse(name, as: "key name")
    if name.isEmpty { throw VaultError.invalidInput("key name is empty") }
    if name.utf8.count > maximumNameLength {
      throw VaultError.invalidInput("key name is longer than \(maximumNameLength) characters")
    }
    guard isIdentifier(name) else {
      throw VaultError.invalidInput(
        "invalid key name (\(firstProblem(name))): use letters, digits and _, not starting with a digit")
    }
  }

  /// Checks a variable name a key asks to be injected under (`--env`).
  public static func validateEnvironmentName(_ name: String) throws {
    try validateVariable(name, role: "environment variable")
  }

  private static func validateVariable(_ name: String, role: String) throws {
    if name.isEmpty { throw VaultError.invalidInput("\(role) is empty") }
    if name.utf8.count > maximumNameLength {
      throw VaultError.invalidInput("\(role) is longer than \(maximumNameLength) characters")
    }
    guard isIdentifier(name) else {
      throw VaultError.invalidInput(
        "invalid \(role) (\(firstProblem(name))): use letters, digits and _, not starting with a digit")
    }
    if let reason = InjectedNamePolicy.refusal(for: name) {
      throw VaultError.invalidInput("\(role) \(name) \(reason); a provider key is never injected under it")
    }
  }

  /// Normalises and checks a provider id: lowercase `[a-z0-9][a-z0-9._-]*`, at most 64 characters.
  public static func normalizedProvider(_ provider: String) throws -> String {
    try PastedSecret.refuse(provider, as: "provider")
    guard !provider.isEmpty else { throw VaultError.invalidInput("provider is empty") }
    let lowered = provider.lowercased()
    guard isProviderID(lowered) else {
      throw VaultError.invalidInput("invalid provider: use up to 64 letters, digits, '.', '_' or '-'")
    }
    return lowered
  }

  /// Whether `text` is a provider id as stored: lowercase `[a-z0-9][a-z0-9._-]*`, 1 to 64 bytes.
  public static func isProviderID(_ text: String) -> Bool {
    let bytes = text.utf8
    guard let first = bytes.first, bytes.count <= 64, isLowerAlphanumeric(first) else { return false }
    return bytes.allSatisfy {
      isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
    }
  }

  /// Whether `name` is an agent key name: `[A-Za-z0-9][A-Za-z0-9._-]*`, 1 to 64 characters.
  public static func isAgentName(_ name: String) -> Bool {
    let bytes = name.utf8
    guard let first = bytes.first, bytes.count <= 64, isAlphanumeric(first) else { return false }
    return bytes.allSatisfy {
      isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
    }
  }

  /// Checks an agent key name.
  public static func validateAgentName(_ name: String) throws {
    try PastedSecret.refuse(name, as: "agent key name")
    guard isAgentName(name) else {
      throw VaultError.invalidInput(
        "invalid agent key name: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    }
  }

  /// Checks a member's name: the agent key names' rule.
  public static func validateMemberName(_ name: String) throws {
    try PastedSecret.refuse(name, as: "member name")
    guard isAgentName(name) else {
      throw VaultError.invalidInput(
        "invalid member name: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    }
  }

  private static let modelPunctuation: Set<UInt8> = Set("._:/@+-".utf8)

  /// Whether `model` is a model name as stored (the reader's rule; `validateModel` also refuses
  /// a pasted secret).
  public static func isModelName(_ model: String) -> Bool {
    let bytes = model.utf8
    guard let first = bytes.first, bytes.count <= 128, isAlphanumeric(first) else { return false }
    return bytes.allSatisfy { isAlphanumeric($0) || modelPunctuation.contains($0) }
  }

  /// Checks a model name typed by the user: 1 to 128 of `A-Z a-z 0-9 . _ : / @ + -`, starting
  /// with a letter or digit, and not shaped like a secret.
  public static func validateModel(_ model: String) throws {
    try PastedSecret.refuse(model, as: "model name")
    let bytes = Array(model.utf8)
    let extra = Set(Array("._:/@+-".utf8))
    guard let first = bytes.first else { throw VaultError.invalidInput("model name is empty") }
    guard bytes.count <= 128, isAlphanumeric(first), bytes.allSatisfy({ isAlphanumeric($0) || extra.contains($0) })
    else {
      throw VaultError.invalidInput(
        "invalid model name: use up to 128 letters, digits or . _ : / @ + -, starting with a letter or digit")
    }
  }

  /// Where a rejected name first breaks the rule, without echoing it: a mistyped name may be a
  /// pasted secret, so errors describe it by position only.
  static func firstProblem(_ name: String) -> String {
    for (offset, scalar) in name.unicodeScalars.enumerated() {
      let allowed = scalar.isASCII && isIdentifierByte(UInt8(scalar.value), first: offset == 0)
      if !allowed {
        return offset == 0 && scalar.isASCII && (0x30...0x39).contains(scalar.value)
          ? "starts with a digit" : "character \(offset + 1) is not allowed"
      }
    }
    return "not an identifier"
  }

  private static func isIdentifierByte(_ byte: UInt8, first: Bool) -> Bool {
    isLetterOrUnderscore(byte) || (!first && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte))
  }

  private static func isLetterOrUnderscore(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
      || byte == UInt8(ascii: "_")
  }

  private static func isAlphanumeric(_ byte: UInt8) -> Bool {
    isLetterOrUnderscore(byte) && byte != UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
  }

  private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
  }
}
