import VaultCrypto
import XCTest

/// Wycheproof `aes_gcm_test.json` (C2SP/wycheproof, see Fixtures/SOURCE.md), every group with a
/// 96-bit IV, the only nonce size this layer accepts. Groups with other IV sizes are skipped on
/// purpose: `AESGCM` refuses them by design with `incorrectNonceSize`.
final class WycheproofAESGCMTests: XCTestCase {
  private struct TestFile: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [TestGroup]
  }

  private struct TestGroup: Decodable {
    let ivSize: Int
    let keySize: Int
    let tagSize: Int
    let tests: [TestCase]
  }

  private struct TestCase: Decodable {
    let tcId: Int
    let comment: String
    let flags: [String]
    let key: String
    let iv: String
    let aad: String
    let msg: String
    let ct: String
    let tag: String
    let result: WycheproofResult
  }

  // Expected numbers for the pinned file (SOURCE.md: 197 tests with 96-bit IVs, 116 valid,
  // 81 invalid, 66 of them AES-256). If filtering or the fixture changes, these fail.
  private static let expectedCaseCount = 197
  private static let expectedValidCount = 116
  private static let expectedInvalidCount = 81
  private static let expectedAcceptableCount = 0
  private static let expectedCountsByKeySize = [128: 67, 192: 64, 256: 66]

  func testEveryCaseWith96BitIV() throws {
    let file = try loadFixture(TestFile.self, "aes_gcm_test.json")
    XCTAssertEqual(file.algorithm, "AES-GCM")
    XCTAssertEqual(file.numberOfTests, 316)
    XCTAssertEqual(file.testGroups.reduce(0) { $0 + $1.tests.count }, 316)

    var run = 0
    var validRun = 0
    var invalidRun = 0
    var acceptableRun = 0
    var runByKeySize: [Int: Int] = [:]
    // Which error each `invalid` case raised, tallied by error kind (the brief asks to record it).
    var rejections: [String: Int] = [:]

    for group in file.testGroups where group.ivSize == 96 {
      XCTAssertEqual(group.tagSize, 128, "only 128-bit tags are supported")
      for test in group.tests {
        let context = "tcId \(test.tcId) (\(group.keySize)-bit key, \(test.flags), \(test.comment))"
        let keyBytes = try hexBytes(test.key)
        let iv = try hexBytes(test.iv)
        let aad = try hexBytes(test.aad)
        let msg = try hexBytes(test.msg)
        let ct = try hexBytes(test.ct)
        let tag = try hexBytes(test.tag)
        XCTAssertEqual(keyBytes.count * 8, group.keySize, context)
        XCTAssertEqual(iv.count, AESGCM.nonceByteCount, context)
        let key = SecretBytes(copying: keyBytes)
        run += 1
        runByKeySize[group.keySize, default: 0] += 1

        switch test.result {
        case .valid:
          validRun += 1
          // A throw is reported per case, so one bad case does not hide the others or the counts.
          do {
            try checkValid(key: key, iv: iv, aad: aad, msg: msg, ct: ct, tag: tag, context: context)
          } catch {
            XCTFail("valid case threw \(error): \(context)")
          }
        case .acceptable:
          // Acceptable means a conforming implementation may either accept or reject. Accept
          // both, but if this wrapper accepts, the output must be exactly the vector's.
          acceptableRun += 1
          do {
            let opened = try ct.withUnsafeBytes {
              try AESGCM.open($0, key: key, nonce: iv, tag: tag, associatedData: aad)
            }
            XCTAssertEqual(opened.copyBytes(), msg, "acceptable case decrypted to the wrong plaintext: \(context)")
          } catch {
            XCTAssertTrue(error is VaultCryptoError, "acceptable case threw a foreign error \(error): \(context)")
          }
        case .invalid:
          invalidRun += 1
          do {
            let opened = try ct.withUnsafeBytes {
              try AESGCM.open($0, key: key, nonce: iv, tag: tag, associatedData: aad)
            }
            XCTFail("invalid case was accepted, plaintext \(hexString(opened.copyBytes())): \(context)")
          } catch {
            rejections[errorKind(error), default: 0] += 1
            XCTAssertTrue(error is VaultCryptoError, "invalid case threw a foreign error \(error): \(context)")
            if test.flags.contains("ModifiedTag") {
              XCTAssertEqual(error as? VaultCryptoError, .authenticationFailure, context)
            }
          }
          // The same box through the combined `nonce || ciphertext || tag` form.
          assertThrows(.authenticationFailure, context) {
            try AESGCM.open(iv + ct + tag, key: key, associatedData: aad)
          }
        }
      }
    }

    XCTAssertEqual(run, Self.expectedCaseCount, "number of 96-bit-IV cases run")
    XCTAssertEqual(validRun, Self.expectedValidCount)
    XCTAssertEqual(invalidRun, Self.expectedInvalidCount)
    XCTAssertEqual(acceptableRun, Self.expectedAcceptableCount, "the pinned file has no acceptable cases")
    XCTAssertEqual(runByKeySize, Self.expectedCountsByKeySize)
    // Every invalid 96-bit case is a modified tag, and each must fail as an authentication failure.
    XCTAssertEqual(rejections, ["authenticationFailure": Self.expectedInvalidCount])
    print(
      "Wycheproof AES-GCM: ran \(run) cases (valid \(validRun), invalid \(invalidRun), acceptable \(acceptableRun));"
        + " rejections \(rejections)")
  }

  /// Groups with other IV sizes are refused by design, never silently processed.
  func testOtherIVSizesAreRefusedBySize() throws {
    let file = try loadFixture(TestFile.self, "aes_gcm_test.json")
    var checked = 0
    for group in file.testGroups where group.ivSize != 96 {
      for test in group.tests {
        let key = SecretBytes(copying: try hexBytes(test.key))
        let iv = try hexBytes(test.iv)
        let msg = try hexBytes(test.msg)
        assertThrows(.incorrectNonceSize, "tcId \(test.tcId)") {
          try msg.withUnsafeBytes { try AESGCM.seal($0, key: key, nonce: iv, associatedData: []) }
        }
        checked += 1
      }
    }
    XCTAssertEqual(checked, 316 - Self.expectedCaseCount)
  }

  private func checkValid(
    key: SecretBytes, iv: [UInt8], aad: [UInt8], msg: [UInt8], ct: [UInt8], tag: [UInt8], context: String
  ) throws {
    let sealed = try msg.withUnsafeBytes { try AESGCM.seal($0, key: key, nonce: iv, associatedData: aad) }
    XCTAssertEqual(hexString(sealed.ciphertext), hexString(ct), "ciphertext: \(context)")
    XCTAssertEqual(hexString(sealed.tag), hexString(tag), "tag: \(context)")

    let opened = try ct.withUnsafeBytes { try AESGCM.open($0, key: key, nonce: iv, tag: tag, associatedData: aad) }
    XCTAssertEqual(hexString(opened.copyBytes()), hexString(msg), "plaintext: \(context)")

    let openedBox = try AESGCM.open(iv + ct + tag, key: key, associatedData: aad)
    XCTAssertEqual(hexString(openedBox.copyBytes()), hexString(msg), "plaintext from sealed box: \(context)")
  }
}
