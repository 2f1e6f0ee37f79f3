import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// The process environment, read from `environ` (what Foundation's ProcessInfo would give,
/// without loading Foundation).
public enum ProcessEnvironment {
  /// The variables whose value is itself a secret. They never become a Swift `String` (which
  /// would sit in the heap, outside locked memory, for the life of the process): `current()`
  /// moves them into `ProcessCredentials` and wipes them in `environ`.
  static let secretValued: [CredentialVariable] = [.passphrase, .newPassphrase, .agentKey]

  public static func current() -> [String: String] {
    var count = 0
    while environ[count] != nil { count += 1 }
    // Sized once, and each entry read as bytes: no rehash as it grows, no String of the whole
    // entry to search for "=".
    var result = [String: String](minimumCapacity: count)
    for index in 0..<count {
      guard let pointer = environ[index] else { break }
      if let variable = secretValued.first(where: { hasName($0.name, pointer) }) {
        ProcessCredentials.take(variable, from: pointer + variable.name.utf8.count + 1)
        continue
      }
      let length = strlen(pointer)
      guard let equals = memchr(pointer, Int32(UInt8(ascii: "=")), length) else { continue }
      let bytes = UnsafeBufferPointer(
        start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
      let split = UnsafeRawPointer(equals) - UnsafeRawPointer(pointer)
      let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<split]), as: UTF8.self)
      // The first definition wins, as getenv(3) does.
      if result[name] == nil {
        result[name] = String(decoding: UnsafeBufferPointer(rebasing: bytes[(split + 1)...]), as: UTF8.self)
      }
    }
    return result
  }

  /// Whether the C string `entry` starts with `name=`.
  private static func hasName(_ name: String, _ entry: UnsafeMutablePointer<CChar>) -> Bool {
    var offset = 0
    for byte in name.utf8 {
      guard UInt8(bitPattern: entry[offset]) == byte else { return false }
      offset += 1
    }
    return entry[offset] == CChar(UInt8(ascii: "="))
  }
}

/// Secret-valued credential variables (`VAULT_PASSPHRASE`, `VAULT_NEW_PASSPHRASE`,
/// `VAULT_AGENT_KEY`), held in `SecretBytes` from start-up until `discardAll()`.
enum ProcessCredentials {
  /// One slot per variable of `ProcessEnvironment.secretValued`, in its order: three optionals
  /// rather than a dictionary, whose generic storage cost every start about 120,000 instructions
  /// of run-time metadata look-ups for three entries.
  nonisolated(unsafe) private static var values: (SecretBytes?, SecretBytes?, SecretBytes?) = (nil, nil, nil)

  /// Copies the NUL-terminated `value` into locked memory and wipes it where it was. The first
  /// definition wins, as getenv(3) does; an empty value counts as unset.
  static func take(_ variable: CredentialVariable, from value: UnsafeMutablePointer<CChar>) {
    let count = strlen(value)
    defer { memset(value, 0, count) }
    guard count > 0, Self.value(variable) == nil else { return }
    let secret = SecretBytes(count: count) {
      $0.copyMemory(from: UnsafeRawBufferPointer(start: value, count: count))
    }
    switch variable {
    case .passphrase: values.0 = secret
    case .newPassphrase: values.1 = secret
    case .agentKey: values.2 = secret
    case .passphraseFile, .newPassphraseFile: break
    }
  }

  static func value(_ variable: CredentialVariable) -> SecretBytes? {
    switch variable {
    case .passphrase: values.0
    case .newPassphrase: values.1
    case .agentKey: values.2
    case .passphraseFile, .newPassphraseFile: nil
    }
  }

  /// Drops every credential (wiped as its `SecretBytes` goes): called once the keys are open.
  static func discardAll() {
    values = (nil, nil, nil)
  }
}
