import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Our base64 and timestamp codecs replace Foundation's and libc's for speed; these tests hold
/// them to the references.
final class EncodingTests: XCTestCase {
  func testBase64MatchesFoundationForEveryLengthUpTo100() {
    var generator = SystemRandomNumberGenerator()
    for length in 0...100 {
      let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let text = Base64.encode(bytes)
      XCTAssertEqual(text, Data(bytes).base64EncodedString())
      XCTAssertEqual(Base64.decode(text), bytes)
    }
  }

  /// Up to 512 decoded bytes go through a stack buffer, longer ones straight into the array
  /// (Base64.decode): both sides of the line, and a value of the largest size a key may have.
  func testBase64MatchesFoundationAroundTheStackBufferAndAtTheLargestValue() {
    var generator = SystemRandomNumberGenerator()
    for length in [509, 510, 511, 512, 513, 514, 515, 1_000, 65_536 + 28] {
      let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let text = Base64.encode(bytes)
      XCTAssertEqual(text, Data(bytes).base64EncodedString())
      XCTAssertEqual(Base64.decode(text), bytes, "\(length) bytes")
      // A flipped padding bit or a stray character is caught on both paths.
      var broken = Array(text.utf8)
      broken[broken.count / 2] = UInt8(ascii: "!")
      XCTAssertNil(Base64.decode(String(decoding: broken, as: UTF8.self)), "\(length) bytes, a stray character")
    }
    XCTAssertNil(Base64.decode(String(repeating: "QUJD", count: 171) + "QR=="), "513 bytes, padding bits set")
    XCTAssertEqual(Base64.decode(String(repeating: "QUJD", count: 171) + "QQ==")?.count, 514)
  }

  func testBase64RejectsNonCanonicalAndMalformedText() {
    XCTAssertEqual(Base64.decode("QQ=="), [0x41])
    for bad in ["QR==", "QUF=QUFB", "QUI", "QUJ", "Q===", "====", "QU I=", "QUI\n", "QUJD-", "QUJ\u{00e9}"] {
      XCTAssertNil(Base64.decode(bad), bad)
    }
    XCTAssertEqual(Base64.decode(""), [])
  }

  func testTimestampsAgreeWithGmtimeAcrossCenturies() {
    var generator = SystemRandomNumberGenerator()
    let samples =
      [Int64(0), -1, 951_782_400, 4_107_542_399, 253_402_300_799, -62_167_219_200]
      + (0..<2_000).map { _ in Int64.random(in: -62_167_219_200...253_402_300_799, using: &generator) }
    for seconds in samples {
      let stamp = Timestamp(secondsSinceEpoch: seconds)
      var time = time_t(seconds)
      var parts = tm()
      gmtime_r(&time, &parts)
      let expected = String(
        format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
        parts.tm_min, parts.tm_sec)
      XCTAssertEqual(stamp.rfc3339, expected, "\(seconds)")
      XCTAssertEqual(Timestamp(rfc3339: expected), stamp, expected)
    }
    XCTAssertNotNil(Timestamp(rfc3339: "2024-02-29T00:00:00Z"))
    XCTAssertNil(Timestamp(rfc3339: "2023-02-29T00:00:00Z"))
    XCTAssertNil(Timestamp(rfc3339: "2100-02-29T00:00:00Z"))
    XCTAssertNotNil(Timestamp(rfc3339: "2000-02-29T00:00:00Z"))
  }

  func testRecordIDsRoundTripAndRejectUppercase() {
    let hex = "0123456789abcdef0fedcba987654321"
    XCTAssertEqual(RecordID(hex: hex)?.description, hex)
    XCTAssertEqual(RecordID(hex: hex)?.bytes.count, 16)
    XCTAssertNil(RecordID(hex: hex.uppercased()))
    XCTAssertNil(RecordID(hex: String(hex.dropLast())))
  }
}
