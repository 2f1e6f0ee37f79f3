import VaultCrypto
import XCTest

/// Round trips and tamper cases for the random-nonce `seal` / combined-box `open` the vault uses.
final class AESGCMTests: XCTestCase {
  private let overhead = AESGCM.nonceByteCount + AESGCM.tagByteCount

  private func randomKey(_ count: Int = AESGCM.keyByteCount) throws -> SecretBytes {
    try SecureRandom.secret(count: count)
  }

  func testSealOpenRoundTripWithRandomNonce() throws {
    let key = try randomKey()
    let plaintext = Array("the master key wraps here".utf8)
    let aad = Array("vault v1 header".utf8)
    let box = try AESGCM.seal(plaintext, key: key, associatedData: aad)
    XCTAssertEqual(box.count, plaintext.count + overhead, "box is nonce || ciphertext || tag")
    XCTAssertNotEqual(
      Array(box[AESGCM.nonceByteCount..<(AESGCM.nonceByteCount + plaintext.count)]), plaintext,
      "ciphertext must not be the plaintext")
    let opened = try AESGCM.open(box, key: key, associatedData: aad)
    XCTAssertEqual(opened.copyBytes(), plaintext)
  }

  func testRoundTripForEveryKeySizeAndSeveralLengths() throws {
    for keySize in [16, 24, 32] {
      let key = try randomKey(keySize)
      for length in [0, 1, 15, 16, 17, 64, 1000] {
        let plaintext = try SecureRandom.bytes(count: length)
        let box = try AESGCM.seal(plaintext, key: key, associatedData: [])
        XCTAssertEqual(box.count, length + overhead)
        let opened = try AESGCM.open(box, key: key, associatedData: [])
        XCTAssertEqual(opened.copyBytes(), plaintext, "key \(keySize) bytes, plaintext \(length) bytes")
      }
    }
  }

  /// The random-nonce box must agree with the explicit-nonce (KAT) form under the same nonce.
  func testRandomNonceBoxMatchesExplicitNonceSeal() throws {
    let key = try randomKey()
    let plaintext = Array("agree".utf8)
    let aad = Array("ad".utf8)
    let box = try AESGCM.seal(plaintext, key: key, associatedData: aad)
    let nonce = Array(box.prefix(AESGCM.nonceByteCount))
    let explicit = try plaintext.withUnsafeBytes { try AESGCM.seal($0, key: key, nonce: nonce, associatedData: aad) }
    XCTAssertEqual(box, nonce + explicit.ciphertext + explicit.tag)
  }

  func testTwoSealsOfTheSamePlaintextUseDifferentNonces() throws {
    let key = try randomKey()
    let plaintext = Array("same message".utf8)
    let first = try AESGCM.seal(plaintext, key: key, associatedData: [])
    let second = try AESGCM.seal(plaintext, key: key, associatedData: [])
    XCTAssertNotEqual(Array(first.prefix(AESGCM.nonceByteCount)), Array(second.prefix(AESGCM.nonceByteCount)))
    XCTAssertNotEqual(first, second)
    XCTAssertEqual(try AESGCM.open(first, key: key, associatedData: []).copyBytes(), plaintext)
    XCTAssertEqual(try AESGCM.open(second, key: key, associatedData: []).copyBytes(), plaintext)
  }

  /// Every byte of nonce, ciphertext and tag is authenticated: changing any one of them fails.
  func testFlippingAnySingleByteFailsAuthentication() throws {
    let key = try randomKey()
    let aad = Array("header".utf8)
    let box = try AESGCM.seal(Array("short msg".utf8), key: key, associatedData: aad)
    XCTAssertEqual(box.count, 9 + overhead)
    var positions = 0
    for position in box.indices {
      for mask: UInt8 in [0x01, 0x80, 0xff] {
        var tampered = box
        tampered[position] ^= mask
        assertThrows(.authenticationFailure, "byte \(position) xor \(mask)") {
          try AESGCM.open(tampered, key: key, associatedData: aad)
        }
      }
      positions += 1
    }
    XCTAssertEqual(positions, box.count)
    // The untouched box still opens, so the failures above are due to the flips.
    XCTAssertEqual(try AESGCM.open(box, key: key, associatedData: aad).copyBytes(), Array("short msg".utf8))
  }

  func testChangedAssociatedDataFailsAuthentication() throws {
    let key = try randomKey()
    let aad = Array("vault-id=1".utf8)
    let box = try AESGCM.seal(Array("secret".utf8), key: key, associatedData: aad)
    for otherAAD in [[], Array("vault-id=2".utf8), aad + [0], Array(aad.dropLast())] {
      assertThrows(.authenticationFailure, "aad \(otherAAD)") {
        try AESGCM.open(box, key: key, associatedData: otherAAD)
      }
    }
    // Sealed without AAD, opened with some.
    let plainBox = try AESGCM.seal(Array("secret".utf8), key: key, associatedData: [])
    assertThrows(.authenticationFailure) { try AESGCM.open(plainBox, key: key, associatedData: [0]) }
  }

  func testAnotherKeyFailsAuthentication() throws {
    let key = try randomKey()
    let box = try AESGCM.seal(Array("secret".utf8), key: key, associatedData: [])
    assertThrows(.authenticationFailure) { try AESGCM.open(box, key: try self.randomKey(), associatedData: []) }
    // A key differing in a single bit.
    var nearKey = key.copyBytes()
    nearKey[31] ^= 0x01
    assertThrows(.authenticationFailure) {
      try AESGCM.open(box, key: SecretBytes(copying: nearKey), associatedData: [])
    }
  }

  func testTruncatedBoxFails() throws {
    let key = try randomKey()
    let box = try AESGCM.seal(Array("secret".utf8), key: key, associatedData: [])
    for length in 0..<overhead {
      assertThrows(.truncatedSealedBox, "length \(length)") {
        try AESGCM.open(Array(box.prefix(length)), key: key, associatedData: [])
      }
    }
    // Long enough to parse, but cut: the tag no longer matches.
    assertThrows(.authenticationFailure) { try AESGCM.open(Array(box.dropLast()), key: key, associatedData: []) }
    assertThrows(.authenticationFailure) { try AESGCM.open(Array(box.prefix(overhead)), key: key, associatedData: []) }
  }

  func testWrongKeySizesAreRejected() throws {
    let goodKey = try randomKey()
    let box = try AESGCM.seal(Array("secret".utf8), key: goodKey, associatedData: [])
    let nonce = Array(box.prefix(AESGCM.nonceByteCount))
    for size in [0, 1, 8, 15, 17, 20, 23, 25, 31, 33, 48, 64] {
      let key = SecretBytes(copying: [UInt8](repeating: 0x42, count: size))
      assertThrows(.incorrectKeySize, "seal, \(size)-byte key") {
        try AESGCM.seal(Array("x".utf8), key: key, associatedData: [])
      }
      assertThrows(.incorrectKeySize, "KAT seal, \(size)-byte key") {
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try AESGCM.seal($0, key: key, nonce: nonce, associatedData: []) }
      }
      assertThrows(.incorrectKeySize, "open, \(size)-byte key") {
        try AESGCM.open(box, key: key, associatedData: [])
      }
    }
  }

  func testWrongNonceAndTagSizesAreRejected() throws {
    let key = try randomKey()
    for size in [0, 8, 11, 13, 16] {
      let nonce = [UInt8](repeating: 7, count: size)
      assertThrows(.incorrectNonceSize, "\(size)-byte nonce") {
        try [UInt8]([1]).withUnsafeBytes { try AESGCM.seal($0, key: key, nonce: nonce, associatedData: []) }
      }
    }
    let nonce = [UInt8](repeating: 7, count: AESGCM.nonceByteCount)
    let sealed = try [UInt8]([1, 2]).withUnsafeBytes {
      try AESGCM.seal($0, key: key, nonce: nonce, associatedData: [])
    }
    for tag in [[], Array(sealed.tag.prefix(12)), sealed.tag + [0]] {
      assertThrows(.authenticationFailure, "\(tag.count)-byte tag") {
        try sealed.ciphertext.withUnsafeBytes {
          try AESGCM.open($0, key: key, nonce: nonce, tag: tag, associatedData: [])
        }
      }
    }
    let opened = try sealed.ciphertext.withUnsafeBytes {
      try AESGCM.open($0, key: key, nonce: nonce, tag: sealed.tag, associatedData: [])
    }
    XCTAssertEqual(opened.copyBytes(), [1, 2])
  }

  func testEmptyPlaintext() throws {
    let key = try randomKey()
    let aad = Array("only the header is protected".utf8)
    let box = try AESGCM.seal([UInt8](), key: key, associatedData: aad)
    XCTAssertEqual(box.count, overhead)
    let opened = try AESGCM.open(box, key: key, associatedData: aad)
    XCTAssertEqual(opened.count, 0)
    XCTAssertEqual(opened.copyBytes(), [])
    // An empty message is still authenticated.
    assertThrows(.authenticationFailure) { try AESGCM.open(box, key: key, associatedData: []) }
    var tampered = box
    tampered[overhead - 1] ^= 1
    assertThrows(.authenticationFailure) { try AESGCM.open(tampered, key: key, associatedData: aad) }
  }
}
