import VaultCrypto
import XCTest

/// scrypt parameter validation: every refusal must be a typed error raised before any work is done.
final class ScryptParameterTests: XCTestCase {
  private let password = SecretBytes(copying: Array("password".utf8))
  private let salt = Array("NaCl".utf8)

  private func derive(_ n: UInt64, _ r: UInt64, _ p: UInt64, length: Int = 32) throws -> SecretBytes {
    try Scrypt.deriveKey(password: password, salt: salt, parameters: .init(n: n, r: r, p: p), length: length)
  }

  func testSmallValidParametersDerive() throws {
    let key = try derive(16, 1, 1)
    XCTAssertEqual(key.count, 32)
    // Same inputs, same key; another salt, another key.
    XCTAssertEqual(try derive(16, 1, 1).copyBytes(), key.copyBytes())
    let otherSalt = try Scrypt.deriveKey(
      password: password, salt: Array("NaCL".utf8), parameters: .init(n: 16, r: 1, p: 1), length: 32)
    XCTAssertNotEqual(otherSalt.copyBytes(), key.copyBytes())
  }

  func testNNotAPowerOfTwoIsRejected() {
    for n: UInt64 in [0, 1, 3, 1000, 1023, 1025, (1 << 17) + 1, .max] {
      assertThrowsInvalidParameter("N = \(n)") { try derive(n, 8, 1) }
    }
  }

  func testZeroRAndZeroPAreRejected() {
    assertThrowsInvalidParameter("r = 0") { try derive(1024, 0, 1) }
    assertThrowsInvalidParameter("p = 0") { try derive(1024, 8, 0) }
  }

  func testZeroLengthIsRejected() {
    assertThrowsInvalidParameter { try derive(16, 1, 1, length: 0) }
  }

  func testMemoryOverTheCapIsRejected() {
    // 128 * r * N = 2 GiB, twice the vault's cap.
    let tooBig = Scrypt.Parameters(n: 1 << 21, r: 8, p: 1)
    XCTAssertGreaterThan(tooBig.memoryByteCount, Scrypt.maximumMemoryByteCount)
    assertThrowsInvalidParameter { try derive(1 << 21, 8, 1) }
    assertThrowsInvalidParameter { try derive(1 << 20, 16, 1) }
    assertThrowsInvalidParameter { try derive(1 << 62, 8, 1) }
  }

  /// Just over the cap by OpenSSL's own count (128 * r * (N + 2) + 128 * r * p): must be refused by
  /// the Swift check as `invalidParameter`, not reach OpenSSL and come back as an OpenSSL error.
  func testMemoryJustOverTheCapIsRejectedAsInvalidParameter() {
    // 128*8*(2^20 + 2) + 128*8*1024 = 1 GiB + 1 MiB + 2 KiB > 1 GiB + 1 MiB.
    let parameters = Scrypt.Parameters(n: 1 << 20, r: 8, p: 1024)
    XCTAssertGreaterThan(parameters.memoryByteCount, Scrypt.maximumMemoryByteCount)
    assertThrowsInvalidParameter { try derive(1 << 20, 8, 1024) }
  }

  /// Values a hostile vault header could carry: the size arithmetic must not trap on overflow.
  func testHugeParametersAreRejectedWithoutOverflowTrap() {
    let hostile: [(UInt64, UInt64, UInt64)] = [
      (1 << 63, 1, 1), (2, .max, 1), (2, 1 << 58, 1), (2, 1, .max), (1 << 40, 1 << 30, 1 << 30),
    ]
    for (n, r, p) in hostile {
      XCTAssertEqual(Scrypt.Parameters(n: n, r: r, p: p).memoryByteCount, .max, "N=\(n) r=\(r) p=\(p)")
      assertThrowsInvalidParameter("N=\(n) r=\(r) p=\(p)") { try derive(n, r, p) }
    }
  }

  func testMemoryByteCountMatchesOpenSSLAllocation() {
    // OpenSSL allocates B (128*r*p) plus V, X and T (128*r*(N+2)).
    XCTAssertEqual(Scrypt.Parameters(n: 16, r: 1, p: 1).memoryByteCount, 128 * 1 * 18 + 128)
    XCTAssertEqual(Scrypt.Parameters(n: 1 << 17, r: 8, p: 1).memoryByteCount, 1024 * ((1 << 17) + 2) + 1024)
    // RFC 7914 vector 4, the largest the cap is meant to admit.
    XCTAssertLessThanOrEqual(
      Scrypt.Parameters(n: 1 << 20, r: 8, p: 1).memoryByteCount, Scrypt.maximumMemoryByteCount)
  }
}
