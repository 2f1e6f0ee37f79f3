import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The review's point 2: restoring a copy taken before `agent-key revoke` and then adding a key
/// let the revoked token read the new key, and `verify` passed. The highest generation seen is
/// kept per user and vault id; an older file warns on every read, refuses every write, and
/// fails `verify` until `vault verify --accept-rollback`.
final class RollbackTests: XCTestCase {
  private func recordDirectory(_ sandbox: VaultSandbox) -> String {
    sandbox.root + "/.local/state/llm-vault/generations"
  }

  private func recordPath(_ sandbox: VaultSandbox) throws -> String {
    let names = try FileManager.default.contentsOfDirectory(atPath: recordDirectory(sandbox))
    XCTAssertEqual(names.count, 1, "one record per vault: \(names)")
    return recordDirectory(sandbox) + "/" + (names.first ?? "")
  }

  private let warning = "vault: warning: vault file is at generation"

  func testARestoredCopyFromBeforeARevocationIsCaughtAndNothingIsWrittenToIt() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let token = try sandbox.agentCreate("ci", ["--all"])
    let beforeRevocation = try sandbox.readVault()
    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "ci", "--yes"]).status, 0)
    try writeFile(sandbox.vaultPath, beforeRevocation, mode: 0o600)

    // Every write is refused before the passphrase is asked for; the file is unchanged.
    let add = try sandbox.add("ADDED_AFTER", value: Robust.fakeSecret())
    assertFailure(add, 6, mentioning: ["older than generation", "refusing to write"])
    XCTAssertEqual(
      hintLine(add),
      "vault: hint: put the newest copy back; if you restored this one on purpose, run 'vault verify --accept-rollback' (then rotate or revoke the agent keys revoked since)"
    )
    assertFailure(try sandbox.run(["agent-key", "create", "x", "--all"]), 6, mentioning: ["refusing to write"])
    assertFailure(try sandbox.run(["passwd"], environment: ["VAULT_NEW_PASSPHRASE": "another one"]), 6)
    XCTAssertEqual(try sandbox.readVault(), beforeRevocation)

    // Every read warns, once.
    for arguments in [["list"], ["agent-key", "list"], ["get", "MY_API"], ["show", "MY_API"]] {
      let result = try sandbox.run(arguments)
      XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderrText)")
      XCTAssertEqual(result.stderrLines.filter { $0.hasPrefix(warning) }.count, 1, "\(arguments): \(result.stderrText)")
    }
    let agentRead = try sandbox.agentVerify(token)
    XCTAssertEqual(agentRead.status, 0)
    XCTAssertTrue(agentRead.stderrText.hasPrefix(warning), agentRead.stderrText)

    // verify fails until the owner accepts this copy.
    assertFailure(try sandbox.run(["verify"]), 6, mentioning: ["older than generation"])
    let accepted = try sandbox.run(["verify", "--accept-rollback"])
    XCTAssertEqual(accepted.status, 0, accepted.stderrText)
    XCTAssertTrue(accepted.stderrText.contains("vault: accepted generation"), accepted.stderrText)
    let list = try sandbox.run(["list"])
    XCTAssertEqual(list.stderrText, "")
    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "ci", "--yes"]).status, 0)
    try sandbox.addOK("ADDED_AFTER", value: Robust.fakeSecret())
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
  }

  func testTheRecordIsPrivateAtomicAndNeverWrittenThroughASymlink() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let path = try recordPath(sandbox)
    XCTAssertEqual(fileMode(path, followLinks: false).map { $0 & 0o777 }, 0o600)
    XCTAssertEqual(fileMode(recordDirectory(sandbox)).map { $0 & 0o777 }, 0o700)
    XCTAssertTrue(String(decoding: try readFile(path), as: UTF8.self).hasPrefix("llm-vault-generation 1\n1 "))
    let decoy = sandbox.root + "/decoy"
    try writeFile(decoy, Array("keep".utf8), mode: 0o600)
    XCTAssertEqual(unlink(path), 0)
    XCTAssertEqual(symlink(decoy, path), 0)
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    XCTAssertEqual(try readFile(decoy), Array("keep".utf8), "the record was written through a symlink")
    XCTAssertEqual(fileType(path), S_IFREG)
    XCTAssertTrue(String(decoding: try readFile(path), as: UTF8.self).hasPrefix("llm-vault-generation 1\n2 "))
  }

  /// What it cannot do: with the record gone (or a home directory restored with it), there is
  /// nothing to compare with; the first read records what it finds.
  func testADeletedRecordDetectsNothing() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let old = try sandbox.readVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    XCTAssertEqual(unlink(try recordPath(sandbox)), 0)
    try writeFile(sandbox.vaultPath, old, mode: 0o600)
    try sandbox.addOK("OTHER", value: Robust.fakeSecret())
  }

  /// With the record, an in-range edit of the KDF parameters at the generation last seen reads
  /// as an edit (exit 6), not a wrong passphrase (exit 5).
  func testAHeaderEditedAtTheGenerationLastSeenIsAnEditNotAWrongPassphrase() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let text = String(decoding: try sandbox.readVault(), as: UTF8.self)
    let edited = Robust.recomputingChecksum(
      Array(text.replacingOccurrences(of: "\"n\":\(TestKDF.n),", with: "\"n\":\(TestKDF.n * 2),").utf8))
    try writeFile(sandbox.vaultPath, edited, mode: 0o600)
    for arguments in [["verify"], ["get", "MY_API"], ["add", "X"]] {
      let result = try sandbox.run(arguments, stdin: Array("sk-test-value-0123456789".utf8))
      assertFailure(result, 6, mentioning: ["the header differs from the one opened before at generation 2"])
    }
    XCTAssertEqual(unlink(try recordPath(sandbox)), 0)
    assertFailure(try sandbox.run(["verify"]), 5, mentioning: ["wrong passphrase"])
  }
}
