import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault.example.json` is a real vault in the committed format. Opening it here keeps that
/// format readable: a later format change must bump the version and still read this file.
final class ExampleVaultTests: XCTestCase {
  static let demoPassphrase = "llm-vault-demo"

  /// The example copied into the sandbox with mode 0600 (a checkout's mode follows the umask).
  private func sandboxWithExample() throws -> VaultSandbox {
    let sandbox = try VaultSandbox()
    let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("vault.example.json").path
    try FileManager.default.createDirectory(atPath: sandbox.root + "/data", withIntermediateDirectories: true)
    try writeFile(sandbox.vaultPath, try readFile(source), mode: 0o600)
    sandbox.environment["VAULT_PASSPHRASE_FILE"] = nil
    sandbox.environment["VAULT_PASSPHRASE"] = Self.demoPassphrase
    return sandbox
  }

  func testExampleVaultListsItsThreeLinkedKeysWithoutAPassphrase() throws {
    let sandbox = try sandboxWithExample()
    let result = try sandbox.run(["list", "--json"], environment: ["VAULT_PASSPHRASE": nil])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let keys = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [[String: Any]])
    XCTAssertEqual(keys.compactMap { $0["name"] as? String }, ["OPENAI_MAIN", "ANTHROPIC_MAIN", "GROQ_FREE"])
    XCTAssertEqual(keys.compactMap { $0["provider"] as? String }, ["openai", "anthropic", "groq"])
    XCTAssertEqual(keys[0]["models"] as? [String], ["gpt-4o", "gpt-4o-mini"])
    XCTAssertEqual(keys[0]["value"] as? String, "sk-…emo")
  }

  func testExampleVaultUnlocksWithTheDocumentedDemoPassphraseAndVerifies() throws {
    let sandbox = try sandboxWithExample()
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertTrue(verify.stdoutText.hasPrefix("ok: 3 provider keys verified"), verify.stdoutText)
    let get = try sandbox.run(["get", "ANTHROPIC_MAIN"])
    XCTAssertEqual(get.status, 0, get.stderrText)
    // The example's keys are fake and say so in their own text.
    XCTAssertTrue(get.stdoutText.hasPrefix("sk-ant-api03-DEMO-not-a-real-key"), "unexpected demo value")
  }
}
