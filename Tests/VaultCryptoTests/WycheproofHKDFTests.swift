import VaultCrypto
import XCTest

/// Wycheproof `hkdf_sha256_test.json` (C2SP/wycheproof, see Fixtures/SOURCE.md): all 86 cases.
final class WycheproofHKDFTests: XCTestCase {
  private struct TestFile: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [TestGroup]
  }

  private struct TestGroup: Decodable {
    let keySize: Int
    let tests: [TestCase]
  }

  private struct TestCase: Decodable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let ikm: String
    let salt: String
    let info: String
    let size: Int
    let okm: String
    let result: WycheproofResult
  }

  private static let expectedCaseCount = 86
  private static let expectedValidCount = 83
  private static let expectedInvalidCount = 3

  func testEveryCase() throws {
    let file = try loadFixture(TestFile.self, "hkdf_sha256_test.json")
    XCTAssertEqual(file.algorithm, "HKDF-SHA-256")
    XCTAssertEqual(file.numberOfTests, Self.expectedCaseCount)

    var run = 0
    var validRun = 0
    var invalidRun = 0
    var acceptableRun = 0
    var rejections: [String: Int] = [:]

    for group in file.testGroups {
      for test in group.tests {
        let context = "tcId \(test.tcId) (\(test.flags), \(test.comment))"
        let ikm = try hexBytes(test.ikm)
        let salt = try hexBytes(test.salt)
        let info = try hexBytes(test.info)
        let okm = try hexBytes(test.okm)
        XCTAssertEqual(ikm.count * 8, group.keySize, context)
        run += 1

        switch test.result {
        case .valid:
          validRun += 1
          XCTAssertEqual(okm.count, test.size, context)
          // Both entry points: the SecretBytes one and the raw-buffer one it forwards to. A throw is
          // reported per case, so one bad case does not hide the others or the counts.
          do {
            let derived = try HKDF.deriveKey(
              inputKeyMaterial: SecretBytes(copying: ikm), salt: salt, info: info, length: test.size)
            XCTAssertEqual(hexString(derived.copyBytes()), test.okm.lowercased(), context)
            let derivedRaw = try ikm.withUnsafeBytes {
              try HKDF.deriveKey(inputKeyMaterial: $0, salt: salt, info: info, length: test.size)
            }
            XCTAssertEqual(derivedRaw.copyBytes(), okm, context)
          } catch {
            XCTFail("valid case threw \(error): \(context)")
          }
        case .acceptable:
          // None in the pinned file; if one appears, either outcome is allowed but output must match.
          acceptableRun += 1
          if let derived = try? HKDF.deriveKey(
            inputKeyMaterial: SecretBytes(copying: ikm), salt: salt, info: info, length: test.size)
          {
            XCTAssertEqual(derived.copyBytes(), okm, context)
          }
        case .invalid:
          invalidRun += 1
          XCTAssertTrue(test.flags.contains("SizeTooLarge"), context)
          XCTAssertGreaterThan(test.size, HKDF.maximumOutputByteCount, context)
          do {
            let derived = try HKDF.deriveKey(
              inputKeyMaterial: SecretBytes(copying: ikm), salt: salt, info: info, length: test.size)
            XCTFail("invalid case derived \(derived.count) bytes: \(context)")
          } catch {
            rejections[errorKind(error), default: 0] += 1
          }
        }
      }
    }

    XCTAssertEqual(run, Self.expectedCaseCount)
    XCTAssertEqual(validRun, Self.expectedValidCount)
    XCTAssertEqual(invalidRun, Self.expectedInvalidCount)
    XCTAssertEqual(acceptableRun, 0, "the pinned file has no acceptable cases")
    XCTAssertEqual(rejections, ["invalidParameter": Self.expectedInvalidCount])
    print(
      "Wycheproof HKDF-SHA256: ran \(run) cases (valid \(validRun), invalid \(invalidRun)); rejections \(rejections)")
  }

  /// The boundary itself: 255 * 32 bytes is allowed, one more and zero are not.
  func testOutputLengthBounds() throws {
    let ikm = SecretBytes(copying: [UInt8](repeating: 0x0b, count: 22))
    let maximum = try HKDF.deriveKey(
      inputKeyMaterial: ikm, salt: [], info: [], length: HKDF.maximumOutputByteCount)
    XCTAssertEqual(maximum.count, 8160)
    // HKDF output is a prefix stream: these inputs are RFC 5869 A.3, whose 42-byte OKM is known.
    XCTAssertEqual(
      hexString(Array(maximum.copyBytes().prefix(42))),
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    assertThrowsInvalidParameter {
      try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: [], length: HKDF.maximumOutputByteCount + 1)
    }
    assertThrowsInvalidParameter { try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: [], length: 0) }
    assertThrowsInvalidParameter { try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: [], length: -1) }
  }
}
