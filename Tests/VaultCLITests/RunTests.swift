import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault run` without `--mask`: which values reach the child under which names, for each
/// selector and credential; conflicts and refused names; agent scope errors; precedence over
/// the inherited environment; `--dry-run`; exit codes.
final class RunTests: XCTestCase {
  // MARK: Names and selectors

  func testPassphraseRunInjectsEveryKeyUnderItsOwnAndItsProvidersNames() throws {
    let fixture = try RunFixture()
    let (_, child) = try fixture.runEnvironment([])
    fixture.assertCarriers(child, RunKit.standardNames, "no selector, passphrase")
  }

  func testKeyWithItsOwnEnvIsInjectedUnderThatAndItsNameButNotTheProviderNames() throws {
    let fixture = try RunFixture()
    let (_, child) = try fixture.runEnvironment(["--key", "CUSTOM_KEY"])
    fixture.assertCarriers(child, ["CUSTOM_KEY": "CUSTOM_KEY", "MY_VAR": "CUSTOM_KEY"], "--key CUSTOM_KEY")
    XCTAssertNil(child["OPENAI_API_KEY"], "a key with its own --env must not take its provider's variables")
  }

  func testKeySelectorsGiveExactlyTheNamedKeys() throws {
    let fixture = try RunFixture()
    let (_, one) = try fixture.runEnvironment(["--key", "ANTHROPIC_MAIN"])
    fixture.assertCarriers(
      one, ["ANTHROPIC_MAIN": "ANTHROPIC_MAIN", "ANTHROPIC_API_KEY": "ANTHROPIC_MAIN"], "--key ANTHROPIC_MAIN")
    let (_, two) = try fixture.runEnvironment(["--key", "OPENAI_MAIN", "--key", "ANTHROPIC_MAIN"])
    fixture.assertCarriers(
      two,
      [
        "OPENAI_MAIN": "OPENAI_MAIN", "OPENAI_API_KEY": "OPENAI_MAIN", "ANTHROPIC_MAIN": "ANTHROPIC_MAIN",
        "ANTHROPIC_API_KEY": "ANTHROPIC_MAIN",
      ], "--key OPENAI_MAIN --key ANTHROPIC_MAIN")
  }

  func testProviderSelectorGivesThatProvidersKeysUnderSDKAndLiteLLMNames() throws {
    let fixture = try RunFixture()
    let (_, google) = try fixture.runEnvironment(["--provider", "google"])
    fixture.assertCarriers(
      google, ["GEMINI_KEY": "GEMINI_KEY", "GOOGLE_API_KEY": "GEMINI_KEY", "GEMINI_API_KEY": "GEMINI_KEY"],
      "--provider google")
    let (_, anthropic) = try fixture.runEnvironment(["--provider", "Anthropic"])
    fixture.assertCarriers(
      anthropic, ["ANTHROPIC_MAIN": "ANTHROPIC_MAIN", "ANTHROPIC_API_KEY": "ANTHROPIC_MAIN"], "--provider Anthropic")
  }

  func testModelSelectorPrefersTheLinkedKeyOverOtherKeysOfItsProvider() throws {
    var fixture = try RunFixture()
    // A second openai key, linked to another model: no conflict, since --model picks one.
    try fixture.add("OPENAI_MINI", ["--provider", "openai", "--model", "gpt-4o-mini"])
    let (_, main) = try fixture.runEnvironment(["--model", "gpt-4o"])
    fixture.assertCarriers(main, ["OPENAI_MAIN": "OPENAI_MAIN", "OPENAI_API_KEY": "OPENAI_MAIN"], "--model gpt-4o")
    let (_, mini) = try fixture.runEnvironment(["--model", "gpt-4o-mini"])
    fixture.assertCarriers(
      mini, ["OPENAI_MINI": "OPENAI_MINI", "OPENAI_API_KEY": "OPENAI_MINI"], "--model gpt-4o-mini")
  }

  func testModelSelectorFallsBackToTheFamilysProviderWhenNothingIsLinked() throws {
    let fixture = try RunFixture()
    let (_, claude) = try fixture.runEnvironment(["--model", "claude-sonnet-4"])
    fixture.assertCarriers(
      claude, ["ANTHROPIC_MAIN": "ANTHROPIC_MAIN", "ANTHROPIC_API_KEY": "ANTHROPIC_MAIN"], "--model claude-sonnet-4")
    let (_, gemini) = try fixture.runEnvironment(["--model", "gemini-2.0-flash"])
    fixture.assertCarriers(
      gemini, ["GEMINI_KEY": "GEMINI_KEY", "GOOGLE_API_KEY": "GEMINI_KEY", "GEMINI_API_KEY": "GEMINI_KEY"],
      "--model gemini-2.0-flash")
    // A model of no known family, linked to nothing: not found, never a guess.
    let marker = fixture.sandbox.root + "/ran"
    let unknown = try fixture.sandbox.run(["run", "--model", "llama3:70b", "--", "/usr/bin/touch", marker])
    assertFailure(unknown, 3, mentioning: ["llama3:70b"])
    XCTAssertFalse(fileExists(marker), "the command ran although the selection failed")
  }

  // MARK: Credentials

  func testAgentKeyInTheEnvironmentAloneGivesExactlyItsScope() throws {
    let fixture = try RunFixture()
    let token = try fixture.agentToken("bot", ["--key", "ANTHROPIC_MAIN", "--key", "GEMINI_KEY"])
    let expected = [
      "ANTHROPIC_MAIN": "ANTHROPIC_MAIN", "ANTHROPIC_API_KEY": "ANTHROPIC_MAIN", "GEMINI_KEY": "GEMINI_KEY",
      "GOOGLE_API_KEY": "GEMINI_KEY", "GEMINI_API_KEY": "GEMINI_KEY",
    ]
    // No passphrase anywhere: the passphrase file is moved away too.
    XCTAssertEqual(rename(fixture.sandbox.passphraseFile, fixture.sandbox.passphraseFile + ".away"), 0)
    let (alone, child) = try fixture.runEnvironment([], environment: RunFixture.agentEnvironment(token))
    fixture.assertCarriers(child, expected, "VAULT_AGENT_KEY alone")
    assertNoLeak(alone, [token])
    XCTAssertFalse(contains(alone.stdout, Array(token.utf8)), "the token reached the child")
    XCTAssertEqual(rename(fixture.sandbox.passphraseFile + ".away", fixture.sandbox.passphraseFile), 0)

    // With a passphrase available as well, the agent key still decides: exactly its scope.
    let (_, both) = try fixture.runEnvironment([], environment: ["VAULT_AGENT_KEY": token])
    fixture.assertCarriers(both, expected, "VAULT_AGENT_KEY beside a passphrase file")
  }

  func testAgentKeyFileWithAModelSelectorAndNoPassphrase() throws {
    var fixture = try RunFixture()
    try fixture.add("OPENAI_MINI", ["--provider", "openai", "--model", "gpt-4o-mini"])
    let tokenFile = fixture.sandbox.root + "/ci.token"
    let created = try fixture.sandbox.run(["agent-key", "create", "ci", "--provider", "openai", "--out", tokenFile])
    XCTAssertEqual(created.status, 0, created.stderrText)
    let token = String(decoding: try readFile(tokenFile), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let (result, child) = try fixture.runEnvironment(
      ["--agent-key-file", tokenFile, "--model", "gpt-4o"], environment: noPassphrase)
    fixture.assertCarriers(child, ["OPENAI_MAIN": "OPENAI_MAIN", "OPENAI_API_KEY": "OPENAI_MAIN"], "--agent-key-file")
    assertNoLeak(result, [token], allowStdout: false)
  }

  // MARK: Conflicts and refused names

  func testTwoKeysClaimingOneVariableFailNamingBothAndTheSelectorThatResolvesIt() throws {
    var fixture = try RunFixture()
    // Two keys of one provider are no conflict (the default takes the provider's variables,
    // DefaultKeyTests); two --env claims of one variable are.
    try fixture.add("OPENAI_MINI", ["--provider", "openai", "--env", "MY_VAR"])
    let marker = fixture.sandbox.root + "/ran"
    let conflict = try fixture.sandbox.run(["run", "--", "/usr/bin/touch", marker])
    assertFailure(conflict, 14, mentioning: ["MY_VAR", "CUSTOM_KEY", "OPENAI_MINI", "--key"])
    assertNoLeak(conflict, fixture.secrets)
    XCTAssertFalse(fileExists(marker), "the command ran despite the conflict")
    // Naming both keys keeps the conflict; naming one resolves it.
    let both = try fixture.sandbox.run(["run", "--key", "CUSTOM_KEY", "--key", "OPENAI_MINI", "--", "/bin/true"])
    assertFailure(both, 14, mentioning: ["CUSTOM_KEY", "OPENAI_MINI"])
    let (_, child) = try fixture.runEnvironment(["--key", "OPENAI_MINI"])
    fixture.assertCarriers(child, ["OPENAI_MINI": "OPENAI_MINI", "MY_VAR": "OPENAI_MINI"], "--key OPENAI_MINI")
  }

  func testLoaderAndVaultVariablesCannotBeLinkedAtAll() throws {
    var fixture = try RunFixture([])
    try fixture.add("PLAIN_KEY", ["--provider", "openai"])
    let sandbox = fixture.sandbox
    let secret = fakeSecret()
    let attempts: [(String, [String], [UInt8]?)] = [
      ("add LD_PRELOAD", ["add", "LD_PRELOAD"], Array((secret + "\n").utf8)),
      ("add PATH", ["add", "PATH"], Array((secret + "\n").utf8)),
      ("add --env LD_LIBRARY_PATH", ["add", "OTHER_KEY", "--env", "LD_LIBRARY_PATH"], Array((secret + "\n").utf8)),
      ("add --env VAULT_PASSPHRASE", ["add", "OTHER_KEY", "--env", "VAULT_PASSPHRASE"], Array((secret + "\n").utf8)),
      ("edit --env PATH", ["edit", "PLAIN_KEY", "--env", "PATH"], nil),
      ("edit --env NODE_OPTIONS", ["edit", "PLAIN_KEY", "--env", "NODE_OPTIONS"], nil),
      ("link --env LD_PRELOAD", ["link", "PLAIN_KEY", "--env", "LD_PRELOAD"], nil),
      ("link --env VAULT_AGENT_KEY", ["link", "PLAIN_KEY", "--env", "VAULT_AGENT_KEY"], nil),
      ("link --env DYLD_INSERT_LIBRARIES", ["link", "PLAIN_KEY", "--env", "DYLD_INSERT_LIBRARIES"], nil),
    ]
    for (what, arguments, stdin) in attempts {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments, stdin: stdin) }
      assertFailure(result, 65)
      XCTAssertEqual(result.status, 65, what)
      assertNoLeak(result, [secret] + fixture.secrets)
    }
    let (_, child) = try fixture.runEnvironment([])
    fixture.assertCarriers(child, ["PLAIN_KEY": "PLAIN_KEY", "OPENAI_API_KEY": "PLAIN_KEY"], "after the refusals")
    XCTAssertEqual(child["PATH"], "/usr/bin:/bin")
    XCTAssertNil(child["LD_PRELOAD"])
  }

  /// The outside review ran code through `GIT_CONFIG_*` under `vault run -- git status` and
  /// through `PERLLIB`; these and their families are refused when linked, when imported, and at
  /// run time when only a hand-edited file holds them (an agent cannot check the MAC).
  func testNamesThatHijackProgramsAreRefusedWhenLinkedImportedAndRun() throws {
    var fixture = try RunFixture([])
    try fixture.add("PLAIN_KEY", ["--provider", "openai", "--env", "SAFE_VARIABLE_ONE"])
    let sandbox = fixture.sandbox
    let secret = fakeSecret()
    let stdin = Array((secret + "\n").utf8)
    let dotEnv = sandbox.root + "/hijack.env"
    try writeFile(dotEnv, Array("MY_FINE_KEY=\(secret)\nPERLLIB=\(secret)\n".utf8), mode: 0o600)
    let attempts: [(String, [String], [UInt8]?)] = [
      ("add GIT_CONFIG_COUNT", ["add", "GIT_CONFIG_COUNT"], stdin),
      ("add PERLLIB", ["add", "PERLLIB"], stdin),
      ("add https_proxy", ["add", "https_proxy"], stdin),
      ("add --env GIT_CONFIG_KEY_0", ["add", "OTHER_KEY", "--env", "GIT_CONFIG_KEY_0"], stdin),
      ("add --env OPENAI_BASE_URL", ["add", "OTHER_KEY", "--env", "OPENAI_BASE_URL"], stdin),
      ("edit --env GIT_CONFIG_VALUE_0", ["edit", "PLAIN_KEY", "--env", "GIT_CONFIG_VALUE_0"], nil),
      ("edit --name PYTHONWARNINGS", ["edit", "PLAIN_KEY", "--name", "PYTHONWARNINGS"], nil),
      ("link --env npm_config_registry", ["link", "PLAIN_KEY", "--env", "npm_config_registry"], nil),
      ("import PERLLIB", ["import", dotEnv, "--all"], nil),
    ]
    for (what, arguments, stdin) in attempts {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments, stdin: stdin) }
      XCTAssertEqual(result.status, 65, "\(what): \(result.stderrText)")
      XCTAssertEqual(Robust.errorLineCount(result), 1, what)
      assertNoLeak(result, [secret] + fixture.secrets)
    }
    // At run time: the --env name edited into the file by hand, the checksum recomputed.
    let token = try fixture.agentToken("edited", ["--all"])
    let original = try XCTUnwrap(sandbox.vaultBytes())
    let edited = String(decoding: original, as: UTF8.self).replacingOccurrences(
      of: "\"SAFE_VARIABLE_ONE\"", with: "\"GIT_CONFIG_COUNT\"")
    XCTAssertNotEqual(Array(edited.utf8), original)
    try writeFile(sandbox.vaultPath, Robust.recomputingChecksum(Array(edited.utf8)), mode: 0o600)
    let marker = sandbox.root + "/child-ran"
    let result = try sandbox.run(
      ["run", "--", "/bin/sh", "-c", "touch \"$0\"", marker], environment: RunFixture.agentEnvironment(token))
    XCTAssertEqual(result.status, 65, result.stderrText)
    XCTAssertTrue(result.stderrText.contains("GIT_CONFIG_COUNT"), result.stderrText)
    XCTAssertFalse(fileExists(marker), "the child ran with a refused variable")
    assertNoLeak(result, fixture.secrets + [token])
  }

  // MARK: Agent scope errors

  func testAgentScopeErrorsAreDeniedNotFoundOrNotPermitted() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let token = try fixture.agentToken("narrow", ["--key", "ANTHROPIC_MAIN"])
    let revoked = try fixture.agentToken("gone", ["--key", "ANTHROPIC_MAIN"])
    let revoke = try sandbox.run(["agent-key", "revoke", "gone", "--yes"])
    XCTAssertEqual(revoke.status, 0, revoke.stderrText)
    let marker = sandbox.root + "/ran"
    let unknownToken = "vk_" + String(repeating: "A1b2C3", count: 10)
    let cases: [(String, String, [String], Int32, [String])] = [
      ("another key", token, ["--key", "OPENAI_MAIN"], 12, ["permission denied"]),
      ("another provider", token, ["--provider", "openai"], 12, ["permission denied"]),
      ("a model of another provider", token, ["--model", "gpt-4o"], 12, ["permission denied"]),
      ("a model family of another provider", token, ["--model", "gpt-4.1"], 12, ["permission denied"]),
      ("an unknown key", token, ["--key", "NO_SUCH_KEY"], 3, ["NO_SUCH_KEY"]),
      ("a malformed token", "vk_short", [], 11, ["access not permitted"]),
      ("an unknown token", unknownToken, [], 11, ["access not permitted"]),
      ("a revoked token", revoked, [], 11, ["access not permitted"]),
    ]
    for (what, credential, selectors, status, fragments) in cases {
      let result = try sandbox.run(
        ["run"] + selectors + ["--", "/usr/bin/touch", marker], environment: RunFixture.agentEnvironment(credential))
      assertFailure(result, status, mentioning: fragments)
      XCTAssertEqual(result.status, status, what)
      assertNoLeak(result, fixture.secrets + [token, revoked, unknownToken])
      XCTAssertFalse(fileExists(marker), "\(what): the command ran")
    }
  }

  func testAModelLinkedToAKeyOutsideTheScopeIsDeniedNotSwappedForAnotherKey() throws {
    // gpt-4o is linked to OPENAI_MAIN. The token may read only OPENAI_MINI, another openai key:
    // `--model gpt-4o` means OPENAI_MAIN (as it does with the passphrase), which is outside the
    // scope; quietly handing over OPENAI_MINI instead would run the agent on another key.
    var fixture = try RunFixture()
    try fixture.add("OPENAI_MINI", ["--provider", "openai", "--model", "gpt-4o-mini"])
    let sandbox = fixture.sandbox
    let token = try fixture.agentToken("mini-only", ["--key", "OPENAI_MINI"])
    let marker = sandbox.root + "/ran"
    let result = try sandbox.run(
      ["run", "--model", "gpt-4o", "--", "/usr/bin/touch", marker], environment: RunFixture.agentEnvironment(token))
    assertFailure(result, 12, mentioning: ["permission denied"])
    assertNoLeak(result, fixture.secrets + [token])
    XCTAssertFalse(fileExists(marker), "the command ran with another key than the model's")
    // The plan must not claim that no key is linked to gpt-4o either.
    let plan = try sandbox.run(
      ["run", "--dry-run", "--model", "gpt-4o", "--", "/bin/true"], environment: RunFixture.agentEnvironment(token))
    XCTAssertFalse(plan.stdoutText.contains("OPENAI_MINI"), "dry-run plans another key: \(plan.stdoutText)")
    // Its own model still works.
    let (_, child) = try fixture.runEnvironment(
      ["--model", "gpt-4o-mini"], environment: RunFixture.agentEnvironment(token))
    fixture.assertCarriers(child, ["OPENAI_MINI": "OPENAI_MINI", "OPENAI_API_KEY": "OPENAI_MINI"], "gpt-4o-mini")
  }

  // MARK: Precedence

  func testVaultValuesReplaceInheritedOnesByDefault() throws {
    let fixture = try RunFixture()
    let (_, child) = try fixture.runEnvironment(
      ["--key", "OPENAI_MAIN"], environment: ["OPENAI_API_KEY": "inherited-value", "UNRELATED": "kept"])
    assertSameSecret(child["OPENAI_API_KEY"], fixture.values["OPENAI_MAIN"], "OPENAI_API_KEY")
    XCTAssertEqual(child["UNRELATED"], "kept", "the rest of the environment is inherited")
  }

  func testNoOverrideKeepsAnInheritedValueAndSaysSo() throws {
    let fixture = try RunFixture()
    let (result, child) = try fixture.runEnvironment(
      ["--no-override", "--key", "OPENAI_MAIN"], environment: ["OPENAI_API_KEY": "inherited-value"])
    XCTAssertEqual(child["OPENAI_API_KEY"], "inherited-value")
    assertSameSecret(child["OPENAI_MAIN"], fixture.values["OPENAI_MAIN"], "a variable not inherited is still set")
    XCTAssertTrue(result.stderrText.contains("OPENAI_API_KEY"), "no word about the kept variable: \(result.stderrText)")
  }

  func testCleanEnvLeavesOnlyTheMinimalVariablesAndTheInjectedOnes() throws {
    let fixture = try RunFixture()
    let inherited: [String: String?] = [
      "USER": "alice", "TERM": "xterm-256color", "TZ": "Europe/Paris", "FOO": "bar", "SSH_AUTH_SOCK": "/tmp/agent",
      "OPENAI_API_KEY": "inherited-value", "VAULT_PASSPHRASE": VaultSandbox.passphrase,
    ]
    let (_, child) = try fixture.runEnvironment(["--clean-env", "--key", "OPENAI_MAIN"], environment: inherited)
    XCTAssertEqual(
      Set(child.keys), ["PATH", "HOME", "USER", "LANG", "TERM", "TZ", "OPENAI_MAIN", "OPENAI_API_KEY"],
      "the child's variables")
    XCTAssertEqual(child["USER"], "alice")
    XCTAssertEqual(child["TZ"], "Europe/Paris")
    XCTAssertEqual(child["PATH"], "/usr/bin:/bin")
    XCTAssertEqual(child["HOME"], fixture.sandbox.root)
    assertSameSecret(child["OPENAI_API_KEY"], fixture.values["OPENAI_MAIN"], "OPENAI_API_KEY")
    // With --no-override too, an inherited variable outside the minimal set is not "kept".
    let (_, both) = try fixture.runEnvironment(
      ["--clean-env", "--no-override", "--key", "OPENAI_MAIN"], environment: inherited)
    assertSameSecret(both["OPENAI_API_KEY"], fixture.values["OPENAI_MAIN"], "--clean-env --no-override")
  }

  func testVaultCredentialsNeverReachTheChildInAnyMode() throws {
    let fixture = try RunFixture()
    let token = try fixture.agentToken("all", ["--all"])
    let tokenFile = fixture.sandbox.root + "/token"
    try writeFile(tokenFile, Array((token + "\n").utf8), mode: 0o600)
    // A new passphrase a script set for `vault passwd` is a credential too.
    let newPassphrase = "new-passphrase-for-passwd-0123"
    let newPassphraseFile = fixture.sandbox.root + "/new-passphrase"
    try writeFile(newPassphraseFile, Array((newPassphrase + "\n").utf8), mode: 0o600)
    let newPassphrases: [String: String?] = [
      "VAULT_NEW_PASSPHRASE": newPassphrase, "VAULT_NEW_PASSPHRASE_FILE": newPassphraseFile,
    ]
    let passphraseEverywhere = newPassphrases.merging(["VAULT_PASSPHRASE": VaultSandbox.passphrase]) { $1 }
    let agentEverywhere = newPassphrases.merging([
      "VAULT_AGENT_KEY": token, "VAULT_PASSPHRASE": VaultSandbox.passphrase,
    ]) { $1 }
    let modes: [(String, [String], [String: String?])] = [
      ("default", [], passphraseEverywhere),
      ("--no-override", ["--no-override"], passphraseEverywhere),
      ("--clean-env", ["--clean-env"], passphraseEverywhere),
      ("--mask", ["--mask"], passphraseEverywhere),
      ("agent key", [], agentEverywhere),
      ("agent key --no-override", ["--no-override"], agentEverywhere),
      ("agent key --mask", ["--mask"], agentEverywhere),
      ("agent key file", ["--agent-key-file", tokenFile], passphraseEverywhere),
    ]
    for (what, options, environment) in modes {
      let (result, child) = try fixture.runEnvironment(options, environment: environment)
      for name in [
        "VAULT_AGENT_KEY", "VAULT_PASSPHRASE", "VAULT_PASSPHRASE_FILE", "VAULT_NEW_PASSPHRASE",
        "VAULT_NEW_PASSPHRASE_FILE",
      ] {
        XCTAssertTrue(child[name] == nil, "\(what): \(name) reached the child (its value is not shown)")
      }
      XCTAssertFalse(child.isEmpty, "\(what): the child printed nothing")
      for credential in [token, VaultSandbox.passphrase, newPassphrase, newPassphraseFile] {
        XCTAssertFalse(contains(result.allOutput, Array(credential.utf8)), "\(what): a credential reached the child")
      }
    }
  }

  func testTheChildHoldsNoDescriptorOfTheVaultItsStateOrLocks() throws {
    let fixture = try RunFixture()
    let token = try fixture.agentToken("fds", ["--all"])
    let script = "for f in /proc/$$/fd/*; do readlink \"$f\"; done"
    for (what, options, environment) in [
      ("passphrase", [String](), [String: String?]()), ("agent key", [], RunFixture.agentEnvironment(token)),
      ("--mask", ["--mask"], [:]), ("agent key --mask", ["--mask"], RunFixture.agentEnvironment(token)),
    ] {
      let result = try fixture.sandbox.run(
        ["run"] + options + ["--key", "OPENAI_MAIN", "--", "/bin/sh", "-c", script], environment: environment)
      XCTAssertEqual(result.status, 0, "\(what): \(result.stderrText)")
      let targets = result.stdoutText.split(separator: "\n").map(String.init)
      XCTAssertFalse(targets.isEmpty, what)
      let dataDirectory = resolvedPath((fixture.sandbox.vaultPath as NSString).deletingLastPathComponent)
      let leaked = targets.filter { $0.hasPrefix(dataDirectory) }
      XCTAssertEqual(leaked, [], "\(what): the child inherited descriptors of the vault's files")
    }
  }

  func testArgumentsAfterTheSeparatorReachTheChildUntouched() throws {
    let fixture = try RunFixture()
    let arguments = ["--mask", "--dry-run", "--key", "X", "-h", "--", "two words", "", "$HOME", "*"]
    for options in [[], ["--mask"]] {
      let result = try fixture.sandbox.run(
        ["run"] + options + ["--key", "OPENAI_MAIN", "--", "/bin/sh", "-c", "printf '[%s]' \"$0\" \"$@\"", "zero"]
          + arguments)
      XCTAssertEqual(result.status, 0, result.stderrText)
      XCTAssertEqual(result.stdoutText, "[zero]" + arguments.map { "[\($0)]" }.joined(), "\(options)")
    }
  }

  // MARK: --dry-run

  func testDryRunPrintsThePlanWithoutValuesAndRunsNothing() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let marker = sandbox.root + "/created-by-the-command"
    let result = try sandbox.run(["run", "--dry-run", "--model", "claude-sonnet-4", "--", "/usr/bin/touch", marker])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertFalse(fileExists(marker), "--dry-run ran the command")
    assertNoLeak(result, fixture.secrets)
    let table = Agent.table(result.stdoutText)
    XCTAssertEqual(table.header, ["VARIABLE", "KEY", "VALUE", "WHY"])
    XCTAssertEqual(Set(table.rows.keys), ["ANTHROPIC_MAIN", "ANTHROPIC_API_KEY"], result.stdoutText)
    let mask = expectedMask(fixture.values["ANTHROPIC_MAIN"]!)
    for (variable, row) in table.rows {
      XCTAssertEqual(row.count, 4, "row \(row)")
      XCTAssertEqual(row.dropFirst().first, "ANTHROPIC_MAIN", "\(variable)'s key")
      XCTAssertEqual(row.dropFirst(2).first, mask, "\(variable)'s masked value")
      let why = row.last ?? ""
      XCTAssertTrue(why.contains("claude-sonnet-4") && why.contains("anthropic"), "\(variable)'s reason: \(why)")
    }

    // Every key, with the reason each variable is set; still nothing run.
    let all = try sandbox.run(["run", "--dry-run", "--", "/usr/bin/touch", marker])
    XCTAssertEqual(all.status, 0, all.stderrText)
    XCTAssertFalse(fileExists(marker), "--dry-run ran the command")
    assertNoLeak(all, fixture.secrets)
    let rows = Agent.table(all.stdoutText).rows
    XCTAssertEqual(rows.mapValues { $0.count > 1 ? $0[1] : "" }, RunKit.standardNames, all.stdoutText)
    XCTAssertTrue(rows["MY_VAR"]?.last?.contains("--env") ?? false, "MY_VAR's reason: \(rows["MY_VAR"] ?? [])")
    XCTAssertTrue(rows["OPENAI_API_KEY"]?.last?.contains("openai") ?? false, "\(rows["OPENAI_API_KEY"] ?? [])")

    // With an agent key and no passphrase: the plan of its scope.
    let token = try fixture.agentToken("dry", ["--key", "GEMINI_KEY"])
    let scoped = try sandbox.run(
      ["run", "--dry-run", "--", "/usr/bin/touch", marker], environment: RunFixture.agentEnvironment(token))
    XCTAssertEqual(scoped.status, 0, scoped.stderrText)
    XCTAssertEqual(Set(Agent.table(scoped.stdoutText).rows.keys), ["GEMINI_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"])
    XCTAssertFalse(fileExists(marker), "--dry-run ran the command")
    assertNoLeak(scoped, fixture.secrets + [token])
  }

  // MARK: Exit codes

  func testTheChildsExitCodePassesThrough() throws {
    let fixture = try RunFixture()
    for code: Int32 in [0, 1, 42, 255] {
      let result = try fixture.sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/sh", "-c", "exit \(code)"])
      XCTAssertEqual(result.status, code, result.stderrText)
      XCTAssertEqual(result.stderrText, "", "vault said something about a normal run")
    }
  }

  func testMissingAndNonExecutableCommandsAre127And126WithOneErrorLine() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let script = sandbox.root + "/not-executable.sh"
    try writeFile(script, Array("#!/bin/sh\nexit 0\n".utf8), mode: 0o644)
    let bin = sandbox.root + "/bin"
    try makeDirectory(bin)
    try writeFile(bin + "/lonely-tool", Array("#!/bin/sh\nexit 0\n".utf8), mode: 0o644)
    let cases: [(String, [String], [String: String?], Int32)] = [
      ("a name on no PATH directory", ["no-such-command-xyz"], [:], 127),
      ("a missing path", [sandbox.root + "/missing"], [:], 127),
      ("a file without x bits", [script], [:], 126),
      ("a directory", [bin], [:], 126),
      ("a name found only without x bits", ["lonely-tool"], ["PATH": bin + ":/usr/bin:/bin"], 126),
    ]
    for mask in [false, true] {
      for (what, command, environment, status) in cases {
        let options = (mask ? ["--mask"] : []) + ["--key", "OPENAI_MAIN", "--"]
        let result = try sandbox.run(["run"] + options + command, environment: environment)
        assertFailure(result, status)
        XCTAssertEqual(result.status, status, "\(what)\(mask ? " with --mask" : "")")
        assertNoLeak(result, fixture.secrets)
      }
    }
  }

  func testRunWithoutACommandIsAUsageError() throws {
    let fixture = try RunFixture()
    let result = try fixture.sandbox.run(["run", "--key", "OPENAI_MAIN"])
    assertFailure(result, 64)
    assertNoLeak(result, fixture.secrets)
  }
}
