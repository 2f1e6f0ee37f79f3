import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The review's point 3: scrypt parameters come from the file, so a hand edit could make every
/// command spend a minute and a gigabyte before saying "wrong passphrase". Only the parameters
/// vault writes are read; anything else is damage (exit 6), refused before any scrypt runs.
///
/// These tests check the floor a release build keeps (N=2^14), so their sandboxes run without
/// the suite's `VAULT_TEST_SCRYPT_MIN_LOG_N` (`VaultSandbox(productionFloor:)`).
final class KDFParameterTests: XCTestCase {
  private func editedHeader(_ original: [UInt8], _ edit: (String) -> String) throws -> [UInt8] {
    let text = String(decoding: original, as: UTF8.self)
    let edited = edit(text)
    XCTAssertNotEqual(edited, text, "the edit changed nothing")
    return Robust.recomputingChecksum(Array(edited.utf8))
  }

  func testParametersVaultNeverWritesAreDamageBeforeAnyScrypt() throws {
    let sandbox = try VaultSandbox(productionFloor: true)
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let edits: [(String, (String) -> String)] = [
      ("p=16", { $0.replacingOccurrences(of: "\"p\":1,", with: "\"p\":16,") }),
      ("r=16", { $0.replacingOccurrences(of: "\"r\":8,", with: "\"r\":16,") }),
      ("r=1", { $0.replacingOccurrences(of: "\"r\":8,", with: "\"r\":1,") }),
      ("N=2^21", { $0.replacingOccurrences(of: "\"n\":16384,", with: "\"n\":2097152,") }),
      ("N=2^13", { $0.replacingOccurrences(of: "\"n\":16384,", with: "\"n\":8192,") }),
    ]
    let original = try sandbox.readVault()
    for (label, edit) in edits {
      let bytes = try editedHeader(original, edit)
      try writeFile(sandbox.vaultPath, bytes, mode: 0o600)
      for arguments in [["get", "MY_API"], ["verify"], ["list"]] {
        let started = Date()
        let result = try sandbox.run(arguments)
        assertFailure(result, 6, mentioning: ["'vault.kdf' parameters are not ones vault writes"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "\(label) \(arguments): took too long")
      }
      XCTAssertEqual(try sandbox.readVault(), bytes, "\(label): the file changed")
    }
  }

  /// Within the range, an edit of N cannot be told from a wrong passphrase without the
  /// passphrase: the KEK differs and the master key's box fails exactly as it would for a
  /// mistyped passphrase. The cost is bounded by the dearest parameters vault writes.
  func testAnInRangeEditReadsAsAWrongPassphraseAndSaysWhatElseItCouldBe() throws {
    let sandbox = try VaultSandbox(productionFloor: true)
    try sandbox.initVault()
    let bytes = try editedHeader(try sandbox.readVault()) {
      $0.replacingOccurrences(of: "\"n\":16384,", with: "\"n\":32768,")
    }
    try writeFile(sandbox.vaultPath, bytes, mode: 0o600)
    // Without this user's rollback record (another user, a fresh HOME); with it, the edit is
    // caught as one (RollbackTests).
    let result = try sandbox.run(["verify"], environment: ["XDG_STATE_HOME": sandbox.root + "/elsewhere"])
    assertFailure(result, 5, mentioning: ["wrong passphrase"])
  }

  /// The suite's low cost is a test-only hook: without `VAULT_TEST_SCRYPT_MIN_LOG_N` the debug
  /// binary the suite runs keeps the production floor, as a release build always does, refusing
  /// to write N=2^10 (exit 65) and refusing a file whose header says N=2^10 as damage (exit 6),
  /// before any scrypt runs. (A release build cannot be run from here: `swift test` builds debug,
  /// and in release the code that reads the variable is compiled out by `#if DEBUG`.)
  func testWithoutTheTestVariableTheFloorIs2To14() throws {
    let production = try VaultSandbox(productionFloor: true)
    let refused = try production.run(["init"] + TestKDF.options)
    assertFailure(refused, 65, mentioning: ["--scrypt-log-n must be 14 to 20"])
    XCTAssertFalse(fileExists(production.vaultPath), "a vault was created at N=2^\(TestKDF.logN)")

    // A vault the suite's way (N=2^10, with the variable), then read without it.
    let cheap = try VaultSandbox()
    try cheap.initVault()
    try cheap.addOK("MY_API", value: Robust.fakeSecret())
    let bytes = try cheap.readVault()
    XCTAssertTrue(
      String(decoding: bytes, as: UTF8.self).contains("\"n\":\(TestKDF.n),"), "the vault is not at N=2^\(TestKDF.logN)")
    XCTAssertEqual(try cheap.run(["verify"]).status, 0)
    for arguments in [["get", "MY_API"], ["verify"], ["list"]] {
      let result = try cheap.run(arguments, environment: TestKDF.productionFloor)
      assertFailure(result, 6, mentioning: ["'vault.kdf' parameters are not ones vault writes (N = 2^14 to 2^20"])
    }
    // A value of the variable outside 10...14 is ignored, not clamped.
    for value in ["9", "8", "15", " 10", "+10", "10x", ""] {
      let result = try cheap.run(["verify"], environment: [TestKDF.variable: value])
      assertFailure(result, 6, mentioning: ["'vault.kdf' parameters are not ones vault writes (N = 2^14 to 2^20"])
    }
    XCTAssertEqual(try cheap.readVault(), bytes, "a refused read changed the file")
  }
}
