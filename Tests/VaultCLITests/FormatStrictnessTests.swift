import Foundation
import VaultCore
import VaultCrypto
import XCTest

/// docs/FORMAT.md made exact: what the spec now says the reader does, held end to end.
final class FormatStrictnessTests: XCTestCase {
  /// A grant whose provider key has no line is damage on the agent path, not a key to skip.
  func testAGrantWithoutAKeyLineIsDamageForAnAgent() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("FIRST", value: Robust.fakeSecret())
    try sandbox.addOK("SECOND", value: Robust.fakeSecret())
    let token = try sandbox.agentCreate("bot", ["--all"])
    var lines = String(decoding: try sandbox.readVault(), as: UTF8.self).components(separatedBy: "\n")
    let second = try XCTUnwrap(lines.firstIndex { $0.contains("\"name\":\"SECOND\"") })
    lines.remove(at: second)
    lines[second - 1].removeLast()  // the comma of what is now the last key line
    try writeFile(sandbox.vaultPath, Robust.recomputingChecksum(Array(lines.joined(separator: "\n").utf8)), mode: 0o600)
    for arguments in [["agent-key", "verify"], ["env", "--format", "json"]] {
      let result = try sandbox.run(arguments, environment: ["VAULT_AGENT_KEY": token, "VAULT_PASSPHRASE_FILE": nil])
      assertFailure(result, 6, mentioning: ["which has no line"])
      assertNoLeak(result, [token])
    }
  }

  /// A name the injection policy refuses cannot be written by vault, but a file holding one
  /// (written by another tool, with a valid MAC) fails `verify` and can still be fixed.
  func testVerifyRefusesANameThatVaultRefusesToInject() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let store = VaultStore(path: sandbox.vaultPath)
    let passphrase = { SecretBytes(copying: Array(VaultSandbox.passphrase.utf8)) }
    try store.update(passphrase: passphrase) { document, _ in
      document.keys[0].environmentNames = ["LD_PRELOAD"]
    }
    assertFailure(try sandbox.run(["verify"]), 6, mentioning: ["is injected under LD_PRELOAD"])
    XCTAssertEqual(try sandbox.run(["edit", "MY_API", "--clear-env"]).status, 0)
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
  }
}
