import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The review's point 10: a passphrase file or agent key file others can read was accepted
/// silently. It is still accepted (CI often hands secrets over in 0644 files), with a warning
/// like ssh's; a 0600 file gets none.
final class SecretFileModeTests: XCTestCase {
  func testAPassphraseFileOthersCanReadIsUsedWithAWarning() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let quiet = try sandbox.run(["get", "MY_API"])
    XCTAssertEqual(quiet.status, 0)
    XCTAssertEqual(quiet.stderrText, "")
    for mode: mode_t in [0o640, 0o604, 0o644] {
      XCTAssertEqual(chmod(sandbox.passphraseFile, mode), 0)
      let result = try sandbox.run(["get", "MY_API"])
      XCTAssertEqual(result.status, 0, result.stderrText)
      XCTAssertEqual(
        result.stderrText,
        "vault: warning: the file named by VAULT_PASSPHRASE_FILE is accessible by group or others (mode \(String(mode, radix: 8))); it holds a secret: chmod 600 it\n"
      )
      assertNoLeak(result, [sandbox.passphraseFile, VaultSandbox.passphrase], allowStdout: true)
    }
  }

  func testAnAgentKeyFileOthersCanReadIsUsedWithAWarning() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let token = try sandbox.agentCreate("ci", ["--all"])
    let path = sandbox.root + "/ci.token"
    try writeFile(path, Array((token + "\n").utf8), mode: 0o600)
    let environment: [String: String?] = ["VAULT_PASSPHRASE_FILE": nil]
    let quiet = try sandbox.run(["agent-key", "verify", "--agent-key-file", path], environment: environment)
    XCTAssertEqual(quiet.status, 0, quiet.stderrText)
    XCTAssertEqual(quiet.stderrText, "")
    XCTAssertEqual(chmod(path, 0o644), 0)
    let result = try sandbox.run(["agent-key", "verify", "--agent-key-file", path], environment: environment)
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(
      result.stderrText.hasPrefix("vault: warning: agent key file \(path) is accessible by group or others (mode 644)"),
      result.stderrText)
    assertNoLeak(result, [token])
  }

  func testATokenPastedWhereTheAgentKeyFileBelongsIsNotEchoed() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let token = "vk_" + String(repeating: "a1B", count: 20)
    let result = try sandbox.run(
      ["agent-key", "verify", "--agent-key-file", token], environment: ["VAULT_PASSPHRASE_FILE": nil])
    assertFailure(result, 1, mentioning: ["cannot read the agent key file named by --agent-key-file"])
    assertNoLeak(result, [token])
  }
}
