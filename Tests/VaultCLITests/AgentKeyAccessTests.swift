import Foundation
import VaultCore
import VaultCrypto
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// What a token alone gives access to, with no passphrase anywhere: exactly its scope, live
/// provider and model scopes, and refusals (malformed, unknown) that never echo a secret.
final class AgentKeyAccessTests: XCTestCase {
  private struct Fixture {
    let sandbox: VaultSandbox
    var values: [String: String]
  }

  private func makeFixture(_ keys: [(String, [String])]) throws -> Fixture {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    var values: [String: String] = [:]
    for (name, options) in keys {
      let value = Agent.fakeValue(name.lowercased())
      try sandbox.addOK(name, value: value, options)
      values[name] = value
    }
    return Fixture(sandbox: sandbox, values: values)
  }

  private static let fourKeys: [(String, [String])] = [
    ("OPENAI_MAIN", ["--provider", "openai", "--model", "gpt-4o"]),
    ("OPENAI_MINI", ["--provider", "openai", "--model", "gpt-4o-mini"]),
    ("ANTHROPIC_MAIN", ["--provider", "anthropic", "--model", "claude-3-5-sonnet"]),
    ("LOCAL_KEY", ["--model", "llama3:70b"]),
  ]

  /// The token's readable keys, by `verify` (no passphrase) and by decrypting in-process, and
  /// that every other key is "permission denied" for it.
  private func assertReadsExactly(
    _ expected: Set<String>, token: String, fixture: Fixture, _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let sandbox = fixture.sandbox
    let result = try sandbox.agentVerify(token)
    XCTAssertEqual(result.status, 0, "\(what): \(result.stderrText)", file: file, line: line)
    XCTAssertEqual(Agent.readable(result.stdoutText), expected, "\(what): verify", file: file, line: line)
    assertNoLeak(result, [token] + Array(fixture.values.values), file: file, line: line)
    let values = try Agent.readableValues(token: token, vaultPath: sandbox.vaultPath)
    XCTAssertEqual(
      values, fixture.values.filter { expected.contains($0.key) }, "\(what): decrypted", file: file, line: line)
    for name in fixture.values.keys where !expected.contains(name) {
      let error = try Agent.openError(token: token, vaultPath: sandbox.vaultPath, keyName: name)
      guard case .permissionDenied? = error as? VaultError else {
        XCTFail("\(what): opening \(name) gave \(String(describing: error))", file: file, line: line)
        continue
      }
    }
  }

  // MARK: Scope

  func testTokenAloneReadsExactlyItsScopeWithNoPassphraseAnywhere() throws {
    let fixture = try makeFixture(Self.fourKeys)
    let sandbox = fixture.sandbox
    let cases: [(String, [String], Set<String>)] = [
      ("everything", ["--all"], ["OPENAI_MAIN", "OPENAI_MINI", "ANTHROPIC_MAIN", "LOCAL_KEY"]),
      ("one-key", ["--key", "LOCAL_KEY"], ["LOCAL_KEY"]),
      ("two-keys", ["--key", "LOCAL_KEY", "--key", "OPENAI_MINI"], ["LOCAL_KEY", "OPENAI_MINI"]),
      ("openai", ["--provider", "openai"], ["OPENAI_MAIN", "OPENAI_MINI"]),
      ("mixed-case-provider", ["--provider", "Anthropic"], ["ANTHROPIC_MAIN"]),
      ("gpt-4o", ["--model", "gpt-4o"], ["OPENAI_MAIN"]),
      ("no-match", ["--provider", "mistral"], []),
      ("combined", ["--provider", "anthropic", "--model", "llama3:70b"], ["ANTHROPIC_MAIN", "LOCAL_KEY"]),
    ]
    var tokens: [(String, String, Set<String>)] = []
    for (name, options, expected) in cases {
      tokens.append((name, try sandbox.agentCreate(name, options), expected))
    }
    // The passphrase file is gone too, not just unset.
    XCTAssertEqual(rename(sandbox.passphraseFile, sandbox.passphraseFile + ".away"), 0)
    for (name, token, expected) in tokens {
      try sandbox.assertUnchanged { try assertReadsExactly(expected, token: token, fixture: fixture, name) }
    }
    XCTAssertEqual(rename(sandbox.passphraseFile + ".away", sandbox.passphraseFile), 0)
    try sandbox.assertOwnerVerifyPasses("reads with tokens")
  }

  func testProviderAndModelScopesAreLive() throws {
    var fixture = try makeFixture([("OPENAI_MAIN", ["--provider", "openai", "--model", "gpt-4o"])])
    let sandbox = fixture.sandbox
    let byProvider = try sandbox.agentCreate("by-provider", ["--provider", "anthropic"])
    let byModel = try sandbox.agentCreate("by-model", ["--model", "claude-3-5-sonnet"])
    let everything = try sandbox.agentCreate("everything", ["--all"])
    try assertReadsExactly([], token: byProvider, fixture: fixture, "before")
    try assertReadsExactly([], token: byModel, fixture: fixture, "before")
    try assertReadsExactly(["OPENAI_MAIN"], token: everything, fixture: fixture, "before")

    // A key added later with the provider: readable by the provider and --all tokens.
    fixture.values["ANTHROPIC_NEW"] = Agent.fakeValue("anthropic-new")
    try sandbox.addOK("ANTHROPIC_NEW", value: fixture.values["ANTHROPIC_NEW"]!, ["--provider", "anthropic"])
    try assertReadsExactly(["ANTHROPIC_NEW"], token: byProvider, fixture: fixture, "after add")
    try assertReadsExactly([], token: byModel, fixture: fixture, "after add")
    try assertReadsExactly(["OPENAI_MAIN", "ANTHROPIC_NEW"], token: everything, fixture: fixture, "after add")

    // A key linked later to the model.
    fixture.values["LATE_KEY"] = Agent.fakeValue("late")
    try sandbox.addOK("LATE_KEY", value: fixture.values["LATE_KEY"]!)
    try assertReadsExactly([], token: byModel, fixture: fixture, "before link")
    XCTAssertEqual(try sandbox.run(["link", "LATE_KEY", "--model", "claude-3-5-sonnet"]).status, 0)
    try assertReadsExactly(["LATE_KEY"], token: byModel, fixture: fixture, "after link")

    // A key given the provider later.
    XCTAssertEqual(try sandbox.run(["edit", "LATE_KEY", "--provider", "anthropic"]).status, 0)
    try assertReadsExactly(["ANTHROPIC_NEW", "LATE_KEY"], token: byProvider, fixture: fixture, "after edit --provider")

    // A new value is what the token reads.
    fixture.values["ANTHROPIC_NEW"] = Agent.fakeValue("anthropic-rotated")
    let edit = try sandbox.run(
      ["edit", "ANTHROPIC_NEW", "--value"], stdin: Array((fixture.values["ANTHROPIC_NEW"]! + "\n").utf8))
    XCTAssertEqual(edit.status, 0, edit.stderrText)
    try assertReadsExactly(["ANTHROPIC_NEW", "LATE_KEY"], token: byProvider, fixture: fixture, "after edit --value")

    // Out of scope again: unlinked, moved to another provider, deleted.
    XCTAssertEqual(try sandbox.run(["unlink", "LATE_KEY", "--model", "claude-3-5-sonnet"]).status, 0)
    try assertReadsExactly([], token: byModel, fixture: fixture, "after unlink")
    XCTAssertEqual(try sandbox.run(["edit", "LATE_KEY", "--provider", "openai"]).status, 0)
    try assertReadsExactly(["ANTHROPIC_NEW"], token: byProvider, fixture: fixture, "after moving provider")
    XCTAssertEqual(try sandbox.run(["rm", "ANTHROPIC_NEW", "--yes"]).status, 0)
    fixture.values["ANTHROPIC_NEW"] = nil
    try assertReadsExactly([], token: byProvider, fixture: fixture, "after rm")
    try assertReadsExactly(["OPENAI_MAIN", "LATE_KEY"], token: everything, fixture: fixture, "at the end")

    // None of it needed a new token.
    let listed = try sandbox.agentListJSON()
    XCTAssertEqual(listed["by-provider"]?["key"] as? String, Agent.display(byProvider))
    XCTAssertEqual(listed["by-model"]?["key"] as? String, Agent.display(byModel))
    sandbox.assertNoTokenAtRest([byProvider, byModel, everything], after: "owner edits")
    try sandbox.assertOwnerVerifyPasses("owner edits")
  }

  func testKeyScopeFollowsTheKeyThroughARenameAndNotTheName() throws {
    var fixture = try makeFixture([
      ("MY_API", ["--provider", "openai", "--model", "gpt-4o"]), ("OTHER_API", ["--provider", "openai"]),
    ])
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--key", "MY_API"])
    try assertReadsExactly(["MY_API"], token: token, fixture: fixture, "before rename")

    let renamed = try sandbox.run(["edit", "MY_API", "--name", "MY_API_RENAMED"])
    XCTAssertEqual(renamed.status, 0, renamed.stderrText)
    fixture.values["MY_API_RENAMED"] = fixture.values.removeValue(forKey: "MY_API")
    try assertReadsExactly(["MY_API_RENAMED"], token: token, fixture: fixture, "after rename")
    let verified = try sandbox.agentVerify(token)
    XCTAssertTrue(Agent.fields(verified.stdoutText)["Scope"]?.contains("MY_API_RENAMED") ?? false, verified.stdoutText)
    let scope = try sandbox.agentShowJSON("ci")["scope"] as? [String: Any]
    XCTAssertEqual(scope?["keys"] as? [String], ["MY_API_RENAMED"])

    // A new key that takes the old name is a different key: not in scope.
    fixture.values["MY_API"] = Agent.fakeValue("impostor")
    try sandbox.addOK("MY_API", value: fixture.values["MY_API"]!, ["--provider", "openai"])
    try assertReadsExactly(["MY_API_RENAMED"], token: token, fixture: fixture, "after a new MY_API")
    try sandbox.assertOwnerVerifyPasses("rename")
  }

  // MARK: Refusals

  /// `token` with the character at `offset` replaced by another base62 character.
  private static func changing(_ token: String, at offset: Int) -> String {
    var characters = Array(token)
    characters[offset] = characters[offset] == "x" ? "y" : "x"
    return String(characters)
  }

  func testMalformedTokensAreRefusedOfflineWithoutEcho() throws {
    let fixture = try makeFixture(Self.fourKeys)
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--all"])
    let tokenFile = sandbox.root + "/variant.token"
    let variants: [(String, String)] = [
      ("one character short", String(token.dropLast())),
      ("truncated to 40", String(token.prefix(40))),
      ("prefix only", "vk_"),
      ("one character more", token + "7"),
      ("id changed", Self.changing(token, at: 6)),
      ("secret changed", Self.changing(token, at: 30)),
      ("checksum changed", Self.changing(token, at: 60)),
      ("prefix changed", "vK_" + token.dropFirst(3)),
      ("non-base62 character", String(token.prefix(20)) + "-" + String(token.dropFirst(21))),
      ("garbage", "definitely-not-a-token-8c1e"),
      ("a provider key", fixture.values["OPENAI_MAIN"]!),
      ("twice", token + token),
    ]
    for (what, variant) in variants {
      XCTAssertNotEqual(variant, token)
      try writeFile(tokenFile, Array((variant + "\n").utf8), mode: 0o600)
      let runs: [(String, RunResult)] = [
        ("VAULT_AGENT_KEY", try sandbox.agentVerify(variant)),
        (
          "stdin",
          try sandbox.run(["agent-key", "verify"], stdin: Array((variant + "\n").utf8), environment: noPassphrase)
        ),
        (
          "--agent-key-file",
          try sandbox.run(["agent-key", "verify", "--agent-key-file", tokenFile], environment: noPassphrase)
        ),
      ]
      for (how, result) in runs {
        XCTAssertEqual(result.status, 11, "\(what) via \(how)")
        assertFailure(result, 11, mentioning: ["access not permitted", "malformed"])
        XCTAssertNotNil(hintLine(result), "\(what) via \(how): no hint")
        // (A variant as short as "vk_" is named by the hint itself; longer ones must not appear.)
        assertNoLeak(result, [token] + (variant.count >= 12 ? [variant] : []) + Array(fixture.values.values))
      }
    }
    // Nothing at all (empty stdin, empty variable).
    let empty = try sandbox.run(["agent-key", "verify"], stdin: [], environment: noPassphrase)
    assertFailure(empty, 11, mentioning: ["malformed"])
    let emptyVariable = try sandbox.agentVerify("", environment: [:])
    XCTAssertEqual(emptyVariable.status, 11, emptyVariable.stderrText)
    // Surrounding whitespace, as a copy from a file or terminal brings, is not a typo.
    let padded = try sandbox.run(
      ["agent-key", "verify"], stdin: Array(("  " + token + " \r\n").utf8), environment: noPassphrase)
    XCTAssertEqual(padded.status, 0, padded.stderrText)
  }

  /// A long paste on stdin is still "not a token", not a complaint about a 64 KiB value.
  func testLongGarbageOnStdinIsMalformed() throws {
    let fixture = try makeFixture(Self.fourKeys)
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--all"])
    let garbage = String(repeating: token, count: 64)
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["agent-key", "verify"], stdin: Array(garbage.utf8), environment: noPassphrase)
    }
    assertFailure(result, 11, mentioning: ["access not permitted"])
    XCTAssertFalse(result.stderrText.contains("64 KiB"), "misleading message: \(result.stderrText)")
    assertNoLeak(result, [token])
  }

  func testWellFormedTokensThisVaultDoesNotKnowAreRefused() throws {
    let fixture = try makeFixture(Self.fourKeys)
    let sandbox = fixture.sandbox
    let other = try makeFixture([("FOREIGN_KEY", ["--provider", "openai"])])
    let foreign = try other.sandbox.agentCreate("foreign", ["--all"])
    try sandbox.agentCreate("local", ["--all"])

    let refused = try sandbox.assertUnchanged { try sandbox.agentVerify(foreign) }
    assertFailure(refused, 11, mentioning: ["access not permitted"])
    XCTAssertFalse(refused.stderrText.contains("malformed"), refused.stderrText)
    assertNoLeak(refused, [foreign] + Array(fixture.values.values) + Array(other.values.values))

    // The right token id with another secret, its checksum made good: the id is known but
    // the secret is not the one whose hash is stored.
    let local = try sandbox.agentCreate("target", ["--key", "LOCAL_KEY"])
    let idPart = String(local.prefix(3 + 11))
    let secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
    let body = idPart + Base62.encode(secret, width: 43)
    let checksum = withUnsafeBytes(of: CRC32.checksum(body.utf8).bigEndian) { Array($0) }
    let forged = body + Base62.encode(checksum, width: 6)
    XCTAssertTrue(Agent.isToken(forged))
    XCTAssertNotEqual(forged, local)
    XCTAssertEqual(try AgentToken.parse(Array(forged.utf8)).id, try AgentToken.parse(Array(local.utf8)).id)
    let wrongSecret = try sandbox.assertUnchanged { try sandbox.agentVerify(forged) }
    assertFailure(wrongSecret, 11, mentioning: ["access not permitted"])
    XCTAssertFalse(wrongSecret.stderrText.contains("malformed"), wrongSecret.stderrText)
    assertNoLeak(wrongSecret, [forged, local] + Array(fixture.values.values))
    XCTAssertEqual(try sandbox.agentReadable(local), ["LOCAL_KEY"])
  }

  // MARK: At rest

  func testTheTokenIsNeverWrittenUnderTheVaultDirectoryOnlyItsHash() throws {
    let fixture = try makeFixture(Self.fourKeys)
    let sandbox = fixture.sandbox
    var tokens: [String] = []
    tokens.append(try sandbox.agentCreate("plain", ["--key", "OPENAI_MAIN"]))
    let json = try sandbox.run(["agent-key", "create", "scripted", "--provider", "openai", "--json"])
    tokens.append(try jsonObject(json.stdout)["token"] as? String ?? "")
    let outPath = sandbox.root + "/out.token"
    XCTAssertEqual(try sandbox.run(["agent-key", "create", "filed", "--all", "--out", outPath]).status, 0)
    tokens.append(String(decoding: try readFile(outPath), as: UTF8.self).trimmingCharacters(in: .newlines))
    XCTAssertTrue(tokens.allSatisfy(Agent.isToken), "\(tokens.map(\.count))")
    sandbox.assertNoTokenAtRest(tokens, after: "create")

    // At rest: SHA-256 of the secret and the display form, per token.
    let stored = String(decoding: try sandbox.readVault(), as: UTF8.self)
    for token in tokens {
      let parsed = try AgentToken.parse(Array(token.utf8))
      XCTAssertTrue(stored.contains(Hex.encode(parsed.secretHash)), "no SHA-256 of the secret at rest")
      XCTAssertTrue(stored.contains(Agent.display(token)), "no display form at rest")
    }

    for token in tokens {
      XCTAssertEqual(try sandbox.agentVerify(token).status, 0)
      XCTAssertEqual(
        try sandbox.run(["agent-key", "verify"], stdin: Array(token.utf8), environment: noPassphrase).status, 0)
    }
    XCTAssertEqual(
      try sandbox.run(["agent-key", "verify", "--agent-key-file", outPath], environment: noPassphrase).status, 0)
    sandbox.assertNoTokenAtRest(tokens, after: "verify")

    let rotated = try sandbox.run(["agent-key", "rotate", "plain", "--grace", "1h"])
    XCTAssertEqual(rotated.status, 0, rotated.stderrText)
    tokens.append(rotated.stdoutText.trimmingCharacters(in: .newlines))
    XCTAssertEqual(try sandbox.agentVerify(tokens[0]).status, 0, "the old token stopped within its grace")
    XCTAssertEqual(try sandbox.agentVerify(tokens[3]).status, 0)
    sandbox.assertNoTokenAtRest(tokens, after: "rotate")

    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "plain", "--yes"]).status, 0)
    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "scripted", "--yes"]).status, 0)
    // Revoking stops both tokens of a rotated key, the one in its grace period too.
    for token in [tokens[0], tokens[3], tokens[1]] {
      assertFailure(try sandbox.agentVerify(token), 11, mentioning: ["revoked on"])
    }
    sandbox.assertNoTokenAtRest(tokens, after: "revoke")
    XCTAssertEqual(try sandbox.run(["agent-key", "rm", "filed", "--yes"]).status, 0)
    sandbox.assertNoTokenAtRest(tokens, after: "rm")
    try sandbox.assertOwnerVerifyPasses("every agent operation")
  }

  // MARK: Owner side

  func testReadOnlyCommandsNeedNoPassphraseAndChangesDo() throws {
    let fixture = try makeFixture(Self.fourKeys)
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--key", "OPENAI_MAIN"])
    for arguments in [
      ["agent-key", "list"], ["agent-key", "list", "--json"], ["agent-key", "show", "ci"],
      ["agent-key", "search", "ci"], ["config", "get", "agent-keys.limit"],
    ] {
      let result = try sandbox.run(arguments, environment: noPassphrase)
      XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderrText)")
      assertNoLeak(result, [token] + Array(fixture.values.values))
    }
    for arguments in [
      ["agent-key", "create", "new", "--all"], ["agent-key", "rename", "ci", "ci-main"],
      ["agent-key", "rotate", "ci"], ["agent-key", "revoke", "ci", "--yes"], ["agent-key", "rm", "ci", "--yes"],
      ["config", "set", "agent-keys.limit", "3"],
    ] {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments, environment: noPassphrase) }
      assertFailure(result, 64, mentioning: ["passphrase"])
      assertNoLeak(result, [token])
    }
    // A wrong passphrase is not enough either.
    let wrongFile = sandbox.root + "/wrong-passphrase"
    try writeFile(wrongFile, Array("not the passphrase\n".utf8), mode: 0o600)
    let wrong = try sandbox.assertUnchanged {
      try sandbox.run(["agent-key", "create", "new", "--all"], environment: ["VAULT_PASSPHRASE_FILE": wrongFile])
    }
    assertFailure(wrong, 5)
    XCTAssertEqual(try sandbox.agentReadable(token), ["OPENAI_MAIN"])
  }
}
