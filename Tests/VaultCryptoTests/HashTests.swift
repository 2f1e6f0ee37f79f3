import VaultCrypto
import XCTest

final class HMACSHA256Tests: XCTestCase {
  // RFC 4231, section 4 ("Test Vectors"), test cases 1, 2 and 4, HMAC-SHA-256 row.
  // https://www.rfc-editor.org/rfc/rfc4231#section-4

  /// RFC 4231 section 4.2, Test Case 1.
  func testRFC4231TestCase1() throws {
    let key = SecretBytes(copying: [UInt8](repeating: 0x0b, count: 20))
    let data = Array("Hi There".utf8)  // 4869205468657265
    XCTAssertEqual(
      hexString(HMACSHA256.authenticationCode(key: key, message: data)),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
  }

  /// RFC 4231 section 4.3, Test Case 2 (a key shorter than the block, "Jefe").
  func testRFC4231TestCase2() throws {
    let key = SecretBytes(copying: Array("Jefe".utf8))
    let data = Array("what do ya want for nothing?".utf8)
    XCTAssertEqual(
      hexString(HMACSHA256.authenticationCode(key: key, message: data)),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  }

  /// RFC 4231 section 4.5, Test Case 4 (key 0x01..0x19, 50 bytes of 0xcd).
  func testRFC4231TestCase4() throws {
    let key = SecretBytes(copying: try hexBytes("0102030405060708090a0b0c0d0e0f10111213141516171819"))
    let data = [UInt8](repeating: 0xcd, count: 50)
    XCTAssertEqual(
      hexString(HMACSHA256.authenticationCode(key: key, message: data)),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
  }

  func testRawBufferEntryPointAgrees() throws {
    let key = SecretBytes(copying: Array("Jefe".utf8))
    let data = Array("what do ya want for nothing?".utf8)
    let tag = data.withUnsafeBytes { HMACSHA256.authenticationCode(key: key, message: $0) }
    XCTAssertEqual(tag, HMACSHA256.authenticationCode(key: key, message: data))
    XCTAssertEqual(tag.count, HMACSHA256.byteCount)
  }
}

final class SHA256Tests: XCTestCase {
  // FIPS 180-2, appendix B.1 ("abc") and the well-known digest of the empty message.

  func testEmptyMessage() {
    XCTAssertEqual(
      hexString(SHA256.hash([UInt8]())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  func testABC() {
    XCTAssertEqual(
      hexString(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }

  func testRawBufferEntryPointAgrees() {
    let message = Array("abc".utf8)
    XCTAssertEqual(message.withUnsafeBytes { SHA256.hash($0) }, SHA256.hash(message))
    XCTAssertEqual(SHA256.hash(message).count, SHA256.byteCount)
  }
}

final class SHA256StreamTests: XCTestCase {
  /// FIPS 180-2 appendix B.1 ("abc"), and a message cut into parts at every length up to 200
  /// bytes (empty parts included) hashes as it does whole.
  func testPartsHashAsTheWhole() throws {
    let stream = SHA256.Stream()
    for part in ["a", "", "bc"] { Array(part.utf8).withUnsafeBytes { stream.update($0) } }
    XCTAssertEqual(hexString(stream.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    for cut in 0...message.count {
      let stream = SHA256.Stream()
      message.withUnsafeBytes { whole in
        stream.update(UnsafeRawBufferPointer(rebasing: whole[0..<cut]))
        stream.update(UnsafeRawBufferPointer(rebasing: whole[cut...]))
      }
      XCTAssertEqual(stream.finish(), SHA256.hash(message), "cut at \(cut)")
    }
  }
}
