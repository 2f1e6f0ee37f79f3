import Foundation
import VaultCore
import XCTest

/// The review's point 9: `agent-key show vk_...` echoed the whole token, and
/// `link X --model sk-proj-...` stored the key in clear. A token- or key-shaped argument where
/// a name belongs is refused (exit 65) without being echoed or stored.
final class PastedSecretTests: XCTestCase {
  func testATokenWhereAnAgentKeyNameBelongsIsRefusedUnechoed() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let token = try sandbox.agentCreate("ci", ["--all"])
    let before = try sandbox.readVault()
    let commands: [[String]] = [
      ["agent-key", "show", token], ["agent-key", "show", token, "--json"], ["agent-key", "revoke", token, "--yes"],
      ["agent-key", "rotate", token], ["agent-key", "rm", token, "--yes"], ["agent-key", "rename", token, "x"],
      ["agent-key", "rename", "ci", token], ["agent-key", "create", token, "--all"], ["show", token],
      ["get", token], ["rm", token, "--yes"], ["edit", "MY_API", "--name", token],
      ["run", "--key", token, "--", "true"],
    ]
    for arguments in commands {
      let result = try sandbox.run(arguments)
      assertFailure(result, 65, mentioning: ["looks like an agent key token or a provider key"])
      assertNoLeak(result, [token, String(token.dropFirst(3).prefix(20))])
    }
    XCTAssertEqual(try sandbox.readVault(), before)
  }

  func testAProviderKeyWhereAModelProviderOrVariableBelongsIsNeitherStoredNorShown() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let before = try sandbox.readVault()
    let pasted = [
      "sk-proj-" + String(repeating: "Ab3xY9", count: 8), "sk-ant-api03-Zq81bXw0PaLr7TtNcV2mKd",
      "AIzaSyB3xQ9vLmN2pR7tK0wE5uYcZ1",
      "gsk_8fJk2LmQ9xR4vT1wZ7bN3cY6", "pR7tK0wE5uYcZ1aB3xQ9vLmN2sD4",
    ]
    for secret in pasted {
      for arguments in [
        ["link", "MY_API", "--model", secret], ["link", "MY_API", "--env", secret],
        ["edit", "MY_API", "--provider", secret],
        ["agent-key", "create", "bot", "--model", secret], ["agent-key", "create", "bot", "--provider", secret],
        ["run", "--model", secret, "--", "true"],
      ] {
        let result = try sandbox.run(arguments)
        assertFailure(result, 65, mentioning: ["looks like an agent key token or a provider key"])
        assertNoLeak(result, [secret, String(secret.suffix(12)), secret.lowercased()])
      }
      let add = try sandbox.add("OTHER", value: Robust.fakeSecret(), ["--model", secret])
      assertFailure(add, 65)
      assertNoLeak(add, [secret])
      XCTAssertEqual(try sandbox.readVault(), before, "the vault changed")
      XCTAssertFalse(contains(try sandbox.readVault(), Array(secret.lowercased().utf8)))
    }
  }

  func testOrdinaryNamesAreNotMistakenForSecrets() throws {
    for name in [
      "gpt-4o-2024-08-06", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "claude-3-5-sonnet-20241022", "ci-bot.v2",
      "OPENAI_API_KEY_PRODUCTION_2024", "MyVeryLongCamelCaseNameForProduction", "vk_short", "sk-small",
      "accounts/fireworks/models/llama-v3p1-405b-instruct", "anthropic.claude-3-5-sonnet-20241022-v2:0",
      "gemini-2.0-flash-thinking-exp-01-21",
    ] {
      XCTAssertFalse(PastedSecret.looksLikeSecret(name), name)
    }
    for secret in [
      "vk_" + String(repeating: "a1B", count: 20), "sk-" + String(repeating: "x", count: 40), "AKIAIOSFODNN7EXAMPLE",
      "hf_AbCdEfGhIjKlMnOpQrStUvWx", "Zq81bXw0PaLr7TtNcV2mKd9sA1",
    ] {
      XCTAssertTrue(PastedSecret.looksLikeSecret(secret), secret)
    }
  }
}
