import VaultCrypto
import XCTest

/// X25519 against RFC 7748's known answers (section 5.2 scalar multiplications and the iterated
/// vector, section 6.1 Diffie-Hellman), and the all-zero refusal age depends on.
final class X25519Tests: XCTestCase {
  private func secret(_ hex: String) throws -> SecretBytes {
    SecretBytes(copying: try hexBytes(hex))
  }

  /// RFC 7748 section 5.2: two scalar multiplications with arbitrary u-coordinates (the second
  /// has its top bit set, which X25519 must ignore).
  func testRFC7748Section5Point2Vectors() throws {
    let vectors = [
      (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
      ),
      (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"
      ),
    ]
    for (index, (scalar, u, expected)) in vectors.enumerated() {
      let output = try X25519.sharedSecret(privateKey: secret(scalar), peerPublicKey: hexBytes(u))
      XCTAssertEqual(hexString(output.copyBytes()), expected, "RFC 7748 section 5.2 vector \(index + 1)")
    }
  }

  /// RFC 7748 section 5.2's iterated vector: k = u = 9, then k, u = X25519(k, u), k; after 1 and
  /// 1,000 iterations (the 1,000,000 one is left out: minutes of EVP set-up for no new coverage).
  func testRFC7748IteratedVector() throws {
    var k = [UInt8](repeating: 0, count: 32)
    k[0] = 9
    var u = k
    for iteration in 1...1000 {
      let next = try X25519.sharedSecret(privateKey: SecretBytes(copying: k), peerPublicKey: u).copyBytes()
      u = k
      k = next
      if iteration == 1 {
        XCTAssertEqual(hexString(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
      }
    }
    XCTAssertEqual(hexString(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
  }

  /// RFC 7748 section 6.1: Alice's and Bob's public keys from their private keys, and the one
  /// shared secret both compute.
  func testRFC7748Section6Point1DiffieHellman() throws {
    let alice = try secret("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    let bob = try secret("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    let alicePublic = try X25519.publicKey(privateKey: alice)
    let bobPublic = try X25519.publicKey(privateKey: bob)
    XCTAssertEqual(hexString(alicePublic), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    XCTAssertEqual(hexString(bobPublic), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    let expected = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    XCTAssertEqual(
      hexString(try X25519.sharedSecret(privateKey: alice, peerPublicKey: bobPublic).copyBytes()), expected)
    XCTAssertEqual(
      hexString(try X25519.sharedSecret(privateKey: bob, peerPublicKey: alicePublic).copyBytes()), expected)
  }

  func testGeneratedKeysAgreeAndDiffer() throws {
    let first = try X25519.generatePrivateKey()
    let second = try X25519.generatePrivateKey()
    XCTAssertEqual(first.count, X25519.keyByteCount)
    XCTAssertNotEqual(first.copyBytes(), second.copyBytes(), "two generated keys must differ")
    let firstPublic = try X25519.publicKey(privateKey: first)
    let secondPublic = try X25519.publicKey(privateKey: second)
    XCTAssertNotEqual(firstPublic, secondPublic)
    let one = try X25519.sharedSecret(privateKey: first, peerPublicKey: secondPublic)
    let other = try X25519.sharedSecret(privateKey: second, peerPublicKey: firstPublic)
    XCTAssertEqual(one.copyBytes(), other.copyBytes())
  }

  /// Low-order points give the all-zero secret, which must be refused with the typed error. The
  /// points are the u-coordinates of small order on Curve25519 and its twist (0, 1, the two of
  /// order 8, p-1, p, p+1), as listed with the age and libsodium blocklists.
  func testLowOrderPointsAreRefused() throws {
    let lowOrder = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]
    let privateKey = try X25519.generatePrivateKey()
    for point in lowOrder {
      assertThrows(.allZeroSharedSecret, point) {
        try X25519.sharedSecret(privateKey: privateKey, peerPublicKey: hexBytes(point))
      }
    }
  }

  func testWrongLengthsAreRefused() throws {
    let privateKey = try X25519.generatePrivateKey()
    let publicKey = try X25519.publicKey(privateKey: privateKey)
    for count in [0, 31, 33] {
      assertThrows(.incorrectKeySize, "private key of \(count) bytes") {
        try X25519.publicKey(privateKey: SecretBytes(copying: [UInt8](repeating: 1, count: count)))
      }
      assertThrows(.incorrectKeySize, "public key of \(count) bytes") {
        try X25519.sharedSecret(privateKey: privateKey, peerPublicKey: [UInt8](repeating: 9, count: count))
      }
    }
    XCTAssertNoThrow(try X25519.sharedSecret(privateKey: privateKey, peerPublicKey: publicKey))
  }
}
