import Foundation

/// Standard base64 (RFC 4648 section 4, with padding), as the file writes sealed boxes and salts.
public enum Base64 {
  public static func encode(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString()
  }

  /// Decodes canonical base64 only: the text must be exactly what `encode` writes for the bytes,
  /// so a file has one spelling and a changed padding bit is caught like any other edit.
  public static func decode(_ text: String) -> [UInt8]? {
    guard let data = Data(base64Encoded: text) else { return nil }
    let bytes = [UInt8](data)
    guard encode(bytes) == text else { return nil }
    return bytes
  }
}
