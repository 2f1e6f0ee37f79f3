import VaultCrypto
import XCTest

/// ChaCha20-Poly1305 against RFC 8439 section 2.8.2, plus round trips and tamper cases. There is
/// no Wycheproof ChaCha20-Poly1305 file among the team's test data, so the RFC vector and the
/// tamper cases below stand in for it.
final class ChaCha20Poly1305Tests: XCTestCase {
  private let key = SecretBytes(copying: (0x80...0x9F).map { UInt8($0) })
  private let nonce: [UInt8] = [0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]
  private let aad: [UInt8] = [0x50, 0x51, 0x52, 0x53, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7]
  private let plaintext = Array(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
      .utf8)
  private let expectedCiphertext =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
    + "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    + "3ff4def08e4b7a9de576d26586cec64b6116"
  private let expectedTag = "1ae10b594f09e26a7e902ecbd0600691"

  func testRFC8439Section2Point8Point2Vector() throws {
    let sealed = try ChaCha20Poly1305.seal(plaintext, key: key, nonce: nonce, associatedData: aad)
    XCTAssertEqual(hexString(Array(sealed.dropLast(ChaCha20Poly1305.tagByteCount))), expectedCiphertext)
    XCTAssertEqual(hexString(Array(sealed.suffix(ChaCha20Poly1305.tagByteCount))), expectedTag)
    let opened = try ChaCha20Poly1305.open(
      hexBytes(expectedCiphertext + expectedTag), key: key, nonce: nonce, associatedData: aad)
    XCTAssertEqual(opened.copyBytes(), plaintext)
  }

  /// Every byte of ciphertext and tag is authenticated, as are the nonce, the key and the
  /// associated data: changing any one of them fails with `authenticationFailure`.
  func testAnyChangeIsRejected() throws {
    let sealed = try hexBytes(expectedCiphertext + expectedTag)
    for index in sealed.indices {
      var tampered = sealed
      tampered[index] ^= 0x01
      assertThrows(.authenticationFailure, "byte \(index) flipped") {
        try ChaCha20Poly1305.open(tampered, key: key, nonce: nonce, associatedData: aad)
      }
    }
    var otherNonce = nonce
    otherNonce[11] ^= 0x01
    assertThrows(.authenticationFailure, "nonce") {
      try ChaCha20Poly1305.open(sealed, key: key, nonce: otherNonce, associatedData: aad)
    }
    assertThrows(.authenticationFailure, "associated data") {
      try ChaCha20Poly1305.open(sealed, key: key, nonce: nonce, associatedData: [])
    }
    var otherKey = key.copyBytes()
    otherKey[0] ^= 0x01
    assertThrows(.authenticationFailure, "key") {
      try ChaCha20Poly1305.open(sealed, key: SecretBytes(copying: otherKey), nonce: nonce, associatedData: aad)
    }
    assertThrows(.authenticationFailure, "truncated by one byte") {
      try ChaCha20Poly1305.open(Array(sealed.dropLast()), key: key, nonce: nonce, associatedData: aad)
    }
  }

  func testRoundTripsOfSeveralLengthsWithEmptyAssociatedData() throws {
    let key = try SecureRandom.secret(count: ChaCha20Poly1305.keyByteCount)
    let zeroNonce = [UInt8](repeating: 0, count: ChaCha20Poly1305.nonceByteCount)
    for length in [0, 1, 16, 63, 64, 65, 1000, 65536] {
      let message = try SecureRandom.bytes(count: length)
      let sealed = try ChaCha20Poly1305.seal(message, key: key, nonce: zeroNonce)
      XCTAssertEqual(sealed.count, length + ChaCha20Poly1305.tagByteCount)
      if length > 0 { XCTAssertNotEqual(Array(sealed.prefix(length)), message, "ciphertext is not the plaintext") }
      XCTAssertEqual(try ChaCha20Poly1305.open(sealed, key: key, nonce: zeroNonce).copyBytes(), message)
    }
  }

  /// The into-buffer form leaves zeros, not unauthenticated plaintext, when the tag fails.
  func testFailedOpenIntoBufferLeavesZeros() throws {
    var sealed = try hexBytes(expectedCiphertext + expectedTag)
    sealed[sealed.count - 1] ^= 0x80
    var output = [UInt8](repeating: 0xAA, count: plaintext.count)
    sealed.withUnsafeBytes { box in
      output.withUnsafeMutableBytes { buffer in
        assertThrows(.authenticationFailure) {
          try ChaCha20Poly1305.open(box, key: key, nonce: nonce, associatedData: aad, into: buffer)
        }
      }
    }
    XCTAssertEqual(output, [UInt8](repeating: 0, count: plaintext.count))
  }

  func testWrongSizesAreRefused() throws {
    assertThrows(.incorrectKeySize) {
      try ChaCha20Poly1305.seal(plaintext, key: SecretBytes(copying: [UInt8](repeating: 0, count: 16)), nonce: nonce)
    }
    for count in [0, 8, 11, 13, 24] {
      assertThrows(.incorrectNonceSize, "nonce of \(count) bytes") {
        try ChaCha20Poly1305.seal(plaintext, key: key, nonce: [UInt8](repeating: 0, count: count))
      }
    }
    assertThrows(.truncatedSealedBox) {
      try ChaCha20Poly1305.open([UInt8](repeating: 0, count: 15), key: key, nonce: nonce)
    }
  }
}
