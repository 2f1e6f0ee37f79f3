import Foundation
import VaultCrypto
import XCTest

/// Errors of the test helpers themselves (a fixture that is missing or malformed).
enum TestSupportError: Error, CustomStringConvertible {
  case oddHexLength(Int)
  case invalidHexDigit(Character)
  case missingFixturesFolder
  case missingFixture(String)

  var description: String {
    switch self {
    case .oddHexLength(let count): return "hex string has an odd length (\(count))"
    case .invalidHexDigit(let digit): return "invalid hex digit \(digit)"
    case .missingFixturesFolder: return "Fixtures folder not found in Bundle.module"
    case .missingFixture(let name): return "fixture \(name) not found"
    }
  }
}

/// Decodes lowercase or uppercase hex ("" gives an empty array). Local to the tests on purpose:
/// the library has no hex API, and the vectors must not be decoded by the code under test.
func hexBytes(_ hex: String) throws -> [UInt8] {
  let digits = Array(hex.utf8)
  guard digits.count % 2 == 0 else { throw TestSupportError.oddHexLength(digits.count) }
  func nibble(_ digit: UInt8) throws -> UInt8 {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
    default: throw TestSupportError.invalidHexDigit(Character(Unicode.Scalar(digit)))
    }
  }
  var bytes: [UInt8] = []
  bytes.reserveCapacity(digits.count / 2)
  var index = 0
  while index < digits.count {
    bytes.append(try nibble(digits[index]) << 4 | nibble(digits[index + 1]))
    index += 2
  }
  return bytes
}

/// Lowercase hex, for readable failure messages.
func hexString(_ bytes: [UInt8]) -> String {
  bytes.map { String(format: "%02x", $0) }.joined()
}

/// The raw bytes of `Fixtures/<name>`, copied into the test bundle by `resources: [.copy("Fixtures")]`.
func fixtureData(_ name: String) throws -> Data {
  guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
    throw TestSupportError.missingFixturesFolder
  }
  let url = folder.appendingPathComponent(name)
  guard FileManager.default.fileExists(atPath: url.path) else { throw TestSupportError.missingFixture(name) }
  return try Data(contentsOf: url)
}

/// Decodes `Fixtures/<name>` as JSON.
func loadFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
  try JSONDecoder().decode(type, from: fixtureData(name))
}

/// Asserts that `expression` throws exactly `expected`.
func assertThrows<T>(
  _ expected: VaultCryptoError, _ message: @autoclosure () -> String = "",
  file: StaticString = #filePath, line: UInt = #line, _ expression: () throws -> T
) {
  do {
    _ = try expression()
    XCTFail("expected \(expected), nothing was thrown. \(message())", file: file, line: line)
  } catch let error as VaultCryptoError {
    XCTAssertEqual(error, expected, message(), file: file, line: line)
  } catch {
    XCTFail("expected \(expected), got non-VaultCryptoError \(error). \(message())", file: file, line: line)
  }
}

/// Asserts that `expression` throws `VaultCryptoError.invalidParameter` (with any message).
func assertThrowsInvalidParameter<T>(
  _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line,
  _ expression: () throws -> T
) {
  do {
    _ = try expression()
    XCTFail("expected invalidParameter, nothing was thrown. \(message())", file: file, line: line)
  } catch VaultCryptoError.invalidParameter {
    // Expected.
  } catch {
    XCTFail("expected invalidParameter, got \(error). \(message())", file: file, line: line)
  }
}

/// A short, stable name for an error, used to tally which error each rejected vector raised.
func errorKind(_ error: Error) -> String {
  guard let error = error as? VaultCryptoError else { return "non-VaultCryptoError(\(type(of: error)))" }
  switch error {
  case .authenticationFailure: return "authenticationFailure"
  case .incorrectKeySize: return "incorrectKeySize"
  case .allZeroSharedSecret: return "allZeroSharedSecret"
  case .incorrectNonceSize: return "incorrectNonceSize"
  case .truncatedSealedBox: return "truncatedSealedBox"
  case .invalidParameter: return "invalidParameter"
  case .outOfMemory: return "outOfMemory"
  case .randomSourceFailure: return "randomSourceFailure"
  case .underlyingOpenSSLError: return "underlyingOpenSSLError"
  }
}

/// The result field of a Wycheproof test, decoded strictly: an unknown value fails the decode.
enum WycheproofResult: String, Decodable {
  case valid
  case acceptable
  case invalid
}
