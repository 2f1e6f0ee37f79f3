import VaultCore
import VaultCrypto
import XCTest

/// Every copied C2SP/CCTV age vector (Tests/Fixtures/age-cctv) through `AgeFile.decrypt` with
/// the vector's identity: success must give the plaintext whose SHA-256 the vector names; each
/// failure must throw the error of the kind the vector expects.
final class AgeVectorTests: XCTestCase {
  /// The error kind of `AgeError` named as the vectors name them.
  private func kind(_ error: Error) -> String {
    switch error as? AgeError {
    case .headerFailure?: return "header failure"
    case .hmacFailure?: return "HMAC failure"
    case .payloadFailure?: return "payload failure"
    case .noIdentityMatched?: return "no match"
    case .malformedKey?: return "malformed key"
    case .noRecipients?: return "no recipients"
    case nil: return "other error \(type(of: error))"
    }
  }

  func testEveryCopiedVector() throws {
    let unrelated = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    let vectors = try AgeVector.all()
    // SOURCE.md says 67 were copied; a lost file must not pass silently.
    XCTAssertEqual(vectors.count, 67, "vector files in Tests/Fixtures/age-cctv")
    var tally: [String: Int] = [:]
    for vector in vectors {
      // Only `empty` names no identity: it fails before any identity is tried, so any will do.
      guard let identityText = vector.identity ?? (vector.name == "empty" ? unrelated : nil) else {
        XCTFail("\(vector.name): no identity (passphrase vectors were not copied)")
        continue
      }
      let identity = try AgeIdentity(parsing: identityText)
      tally[vector.expect, default: 0] += 1
      do {
        let plaintext = try AgeFile.decrypt(vector.file, identities: [identity])
        if vector.expect == "success" {
          let digest = plaintext.withUnsafeBytes { SHA256.hash($0) }
          XCTAssertEqual(AgeTestSupport.hex(digest), vector.payloadSHA256, "\(vector.name): plaintext SHA-256")
        } else {
          XCTFail("\(vector.name): decrypted (\(plaintext.count) bytes) but expected \(vector.expect)")
        }
      } catch {
        XCTAssertEqual(kind(error), vector.expect, "\(vector.name): \(error)")
      }
    }
    // Every kind the vectors use was exercised.
    XCTAssertEqual(
      tally, ["success": 14, "header failure": 31, "no match": 3, "HMAC failure": 1, "payload failure": 18])
  }

  /// Decrypting with several identities: the vector's identity among others still opens it,
  /// and an identity list without it is `noIdentityMatched`.
  func testIdentityListsOnAVector() throws {
    let vector = try AgeVector.named("x25519")
    let right = try AgeIdentity(parsing: vector.identity!)
    let others = [try AgeIdentity.generate(), try AgeIdentity.generate()]
    let plaintext = try AgeFile.decrypt(vector.file, identities: others + [right])
    XCTAssertEqual(AgeTestSupport.hex(plaintext.withUnsafeBytes { SHA256.hash($0) }), vector.payloadSHA256)
    XCTAssertThrowsError(try AgeFile.decrypt(vector.file, identities: others)) {
      XCTAssertEqual($0 as? AgeError, .noIdentityMatched)
    }
    XCTAssertThrowsError(try AgeFile.decrypt(vector.file, identities: [])) {
      XCTAssertEqual($0 as? AgeError, .noIdentityMatched)
    }
  }
}
