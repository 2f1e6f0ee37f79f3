import VaultCrypto

/// The rules a provider key's value must meet, applied wherever a value enters the vault.
public enum SecretValue {
  /// The largest value: 64 KiB, generous for any API key or service-account JSON.
  public static let maximumByteCount = 64 * 1024

  /// Checks `bytes` and moves them into wiped storage. Values are 1 byte to 64 KiB of UTF-8
  /// without NUL: they end up in environment variables, which cannot hold NUL, and masking
  /// counts characters. Errors describe the value, never show it.
  public static func validated(_ bytes: [UInt8]) throws -> SecretBytes {
    guard !bytes.isEmpty else { throw VaultError.invalidInput("the value is empty") }
    guard bytes.count <= maximumByteCount else {
      throw VaultError.invalidInput("the value is longer than 64 KiB (\(bytes.count) bytes)")
    }
    guard !bytes.contains(0) else { throw VaultError.invalidInput("the value contains a NUL byte") }
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw VaultError.invalidInput("the value is not valid UTF-8 text")
    }
    return SecretBytes(copying: bytes)
  }

  /// What was typed or piped, less one trailing newline (LF or CRLF): `echo "$KEY" | vault add`
  /// stores the key, not the newline echo added.
  public static func droppingTrailingNewline(_ bytes: [UInt8]) -> [UInt8] {
    var result = bytes
    if result.last == 0x0A {
      result.removeLast()
      if result.last == 0x0D { result.removeLast() }
    }
    return result
  }

  /// The masked form of a validated value.
  public static func masked(_ value: SecretBytes) -> String {
    value.withUnsafeBytes { Masking.mask(String(decoding: $0, as: UTF8.self)) }
  }
}
