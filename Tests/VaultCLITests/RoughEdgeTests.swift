import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 10, point 4: the rough edges a new user hits, one test each.
final class RoughEdgeTests: XCTestCase {
  private func sandbox() throws -> VaultSandbox {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    return sandbox
  }

  private func hint(_ result: RunResult) -> String {
    result.stderrLines.first { $0.hasPrefix("vault: hint: ") } ?? ""
  }

  func testMistypedCommandsSubcommandsAndOptionsNameTheWrongWordAndSuggestTheNearest() throws {
    let sandbox = try sandbox()
    let cases: [([String], String, String)] = [
      (["agent-key", "craete", "x"], "unknown subcommand 'craete' for 'vault agent-key'", "did you mean 'create'?"),
      (["config", "gett", "agent-keys.limit"], "unknown subcommand 'gett' for 'vault config'", "did you mean 'get'?"),
      (["lsit"], "unknown command 'lsit'", "did you mean 'list'?"),
      (["list", "--jsn"], "unknown option '--jsn' for 'vault list'", "did you mean '--json'?"),
      (
        ["add", "X", "--provder", "openai"], "unknown option '--provder' for 'vault add'", "did you mean '--provider'?"
      ),
      (["--verison"], "unknown option '--verison'", "did you mean '--version'?"),
    ]
    for (arguments, error, suggestion) in cases {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments) }
      assertFailure(result, 64, mentioning: [error])
      XCTAssertTrue(hint(result).contains(suggestion), "\(arguments): \(result.stderrText)")
    }
    // Nothing near: no guess, only the pointer to the help.
    let far = try sandbox.run(["frobnicate"])
    assertFailure(far, 64, mentioning: ["unknown command 'frobnicate'"])
    XCTAssertFalse(hint(far).contains("did you mean"), far.stderrText)
  }

  func testAProgramBeforeDoubleDashIsToldToGoAfterIt() throws {
    let sandbox = try sandbox()
    let result = try sandbox.run(["run", "--key", "A", "ls", "-la"])
    assertFailure(result, 64, mentioning: ["unknown option '-la' for 'vault run'"])
    XCTAssertTrue(hint(result).contains("after '--'"), result.stderrText)
  }

  func testPasswdWithoutANewPassphraseNamesTheNewPassphraseVariables() throws {
    let sandbox = try sandbox()
    let result = try sandbox.assertUnchanged { try sandbox.run(["passwd"]) }
    assertFailure(result, 64, mentioning: ["new passphrase"])
    XCTAssertTrue(hint(result).contains("VAULT_NEW_PASSPHRASE_FILE"), result.stderrText)
    XCTAssertFalse(hint(result).contains("set VAULT_PASSPHRASE_FILE"), result.stderrText)
  }

  func testImportTakesOnlyCredentialsUnlessAllAndListsTheSkippedNames() throws {
    let sandbox = try sandbox()
    let secret = fakeSecret()
    let dotEnv = sandbox.root + "/app.env"
    try writeFile(
      dotEnv, Array("DEBUG=true\nPORT=8080\nOPENAI_API_KEY=\(secret)\nSTRIPE_SECRET=\(secret)x\nODD=AIzaSyA000\n".utf8),
      mode: 0o600)
    let result = try sandbox.run(["import", dotEnv])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(result.stderrText.contains("skipped 2 line(s) that do not look like credentials: DEBUG, PORT"))
    XCTAssertTrue(result.stderrText.contains("--all"), result.stderrText)
    let names = try sandbox.run(["list", "--json"]).stdoutText
    for name in ["OPENAI_API_KEY", "STRIPE_SECRET", "ODD"] { XCTAssertTrue(names.contains("\"\(name)\""), name) }
    for name in ["DEBUG", "PORT"] { XCTAssertFalse(names.contains("\"\(name)\""), name) }
    assertNoLeak(result, [secret])

    let other = try self.sandbox()
    let all = try other.run(["import", dotEnv, "--all"])
    XCTAssertEqual(all.status, 0, all.stderrText)
    XCTAssertTrue(try other.run(["list", "--json"]).stdoutText.contains("\"DEBUG\""))
    // A file of nothing but settings imports nothing, and says how to take them anyway.
    let settings = sandbox.root + "/settings.env"
    try writeFile(settings, Array("DEBUG=true\n".utf8), mode: 0o600)
    let none = try sandbox.assertUnchanged { try sandbox.run(["import", settings]) }
    assertFailure(none, 65, mentioning: ["--all", "DEBUG"])
    // A mistyped setting gets the nearest one.
    let setting = try sandbox.run(["config", "get", "agent-key.limit"])
    assertFailure(setting, 65, mentioning: ["did you mean 'agent-keys.limit'?"])
  }

  func testShortValuesAreNotMaskedAndWarnWhenAdded() throws {
    let sandbox = try sandbox()
    let added = try sandbox.add("SHORT_ONE", value: "true")
    XCTAssertEqual(added.status, 0, added.stderrText)
    XCTAssertTrue(added.stderrText.contains("vault: warning: SHORT_ONE's value has fewer than 8 characters"))
    let result = try sandbox.run(["run", "--mask", "--", "/bin/echo", "true", "story"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdoutText, "true story\n")
    XCTAssertTrue(result.stderrText.contains("not masking SHORT_ONE"), result.stderrText)
  }

  func testUnknownProvidersAndValuesShapedForAnotherProviderWarn() throws {
    let sandbox = try sandbox()
    let typo = try sandbox.add("TYPO_KEY", value: fakeSecret(), ["--provider", "opneai"])
    XCTAssertEqual(typo.status, 0, typo.stderrText)
    XCTAssertTrue(typo.stderrText.contains("provider 'opneai' is not one vault knows (did you mean 'openai'?)"))
    let shaped = try sandbox.add("MIXED_KEY", value: fakeSecret("sk-ant-api03-"), ["--provider", "openai"])
    XCTAssertEqual(shaped.status, 0, shaped.stderrText)
    XCTAssertTrue(shaped.stderrText.contains("MIXED_KEY's value is shaped like a key of anthropic"), shaped.stderrText)
    let fine = try sandbox.add("FINE_KEY", value: fakeSecret("sk-ant-api03-"), ["--provider", "anthropic"])
    XCTAssertFalse(fine.stderrText.contains("warning"), fine.stderrText)
    let edited = try sandbox.run(["edit", "FINE_KEY", "--provider", "anthropci"])
    XCTAssertTrue(edited.stderrText.contains("did you mean 'anthropic'?"), edited.stderrText)
  }

  func testEnvWritesAPrivateFileAtomically() throws {
    let sandbox = try sandbox()
    let secret = fakeSecret()
    try sandbox.addOK("OPENAI_MAIN", value: secret, ["--provider", "openai"])
    let out = sandbox.root + "/.env.local"
    let result = try sandbox.run(["env", "-o", out])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(fileMode(out), 0o600)
    XCTAssertEqual(
      String(decoding: try readFile(out), as: UTF8.self), "OPENAI_MAIN=\(secret)\nOPENAI_API_KEY=\(secret)\n")
    assertNoLeak(result, [secret])
    let onVault = try sandbox.assertUnchanged { try sandbox.run(["env", "-o", sandbox.vaultPath]) }
    assertFailure(onVault, 9)
  }

  func testBadValuesExit65AndBadUsage64() throws {
    let sandbox = try sandbox()
    try sandbox.addOK("OPENAI_MAIN", value: fakeSecret(), ["--provider", "openai"])
    for arguments in [
      ["agent-key", "create", "a", "--all", "--expires", "400d"],
      ["agent-key", "create", "b", "--all", "--expires", "1w"],
      ["env", "--format", "yaml"], ["config", "get", "agent-key.limit"], ["init", "--scrypt-log-n", "99"],
    ] {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments) }
      assertFailure(result, 65)
    }
    for arguments in [
      ["agent-key", "create", "c", "--expires"], ["agent-key", "create"], ["get"], ["list", "extra"],
    ] {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments) }
      assertFailure(result, 64)
    }
  }

  func testGetWorksWithAnAgentKeyInsideItsScope() throws {
    let sandbox = try sandbox()
    let secret = fakeSecret()
    try sandbox.addOK("OPENAI_MAIN", value: secret, ["--provider", "openai"])
    try sandbox.addOK("OTHER_KEY", value: fakeSecret(), [])
    let token = try sandbox.agentCreate("bot", ["--provider", "openai"])
    let agent = RunFixture.agentEnvironment(token)
    let got = try sandbox.run(["get", "OPENAI_MAIN"], environment: agent)
    XCTAssertEqual(got.status, 0, got.stderrText)
    assertSameSecret(got.stdoutText, secret, "get with an agent key")
    assertFailure(try sandbox.run(["get", "OTHER_KEY"], environment: agent), 12, mentioning: ["permission denied"])
    assertFailure(try sandbox.run(["get", "NO_SUCH"], environment: agent), 3)
  }

  func testAnOldTokenInItsGracePeriodSaysSoAndNamesTheNewTokensExpiry() throws {
    let sandbox = try sandbox()
    try sandbox.addOK("OPENAI_MAIN", value: fakeSecret(), ["--provider", "openai"])
    let old = try sandbox.agentCreate("ci", ["--all", "--expires", "30d"])
    let rotated = try sandbox.run(["agent-key", "rotate", "ci", "--grace", "24h"])
    XCTAssertEqual(rotated.status, 0, rotated.stderrText)
    let result = try sandbox.run(["run", "--", "/bin/true"], environment: RunFixture.agentEnvironment(old))
    XCTAssertEqual(result.status, 0, result.stderrText)
    let warning = RunKit.warnings(result).joined(separator: "\n")
    XCTAssertTrue(warning.contains("was rotated: this old token's grace period ends in"), warning)
    XCTAssertTrue(warning.contains("the new token expires on"), warning)
    XCTAssertFalse(warning.contains("agent key ci expires"), warning)
  }

  func testSmallWordsAndEmptySearches() throws {
    let sandbox = try sandbox()
    try sandbox.addOK("OPENAI_MAIN", value: fakeSecret(), ["--provider", "openai"])
    let token = try sandbox.agentCreate("bot", ["--all"])
    XCTAssertEqual(
      try sandbox.run(["run", "--", "/bin/true"], environment: RunFixture.agentEnvironment(token)).status, 0)
    let show = try sandbox.run(["agent-key", "show", "bot"])
    XCTAssertTrue(show.stdoutText.contains("(1 use)"), show.stdoutText)
    let search = try sandbox.run(["search", "zzz"])
    XCTAssertEqual(search.status, 0)
    XCTAssertEqual(search.stderrText, "vault: no provider key matched 'zzz'\n")
  }

  func testShortPassphrasesWarnAtInitAndPasswd() throws {
    let sandbox = try VaultSandbox()
    try writeFile(sandbox.passphraseFile, Array("x\n".utf8), mode: 0o600)
    let created = try sandbox.run(["init"] + TestKDF.options)
    XCTAssertEqual(created.status, 0, created.stderrText)
    XCTAssertTrue(created.stderrText.contains("the new passphrase has only 1 character"), created.stderrText)
    let changed = try sandbox.run(["passwd"], environment: ["VAULT_NEW_PASSPHRASE": "a long enough passphrase"])
    XCTAssertEqual(changed.status, 0, changed.stderrText)
    XCTAssertFalse(changed.stderrText.contains("passphrase has only"), changed.stderrText)
    let short = try sandbox.run(
      ["passwd"],
      environment: [
        "VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": "a long enough passphrase", "VAULT_NEW_PASSPHRASE": "short",
      ])
    XCTAssertEqual(short.status, 0, short.stderrText)
    XCTAssertTrue(short.stderrText.contains("the new passphrase has only 5 characters"), short.stderrText)
  }
}
