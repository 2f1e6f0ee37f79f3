import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The agent-key lifecycle end to end, through the built binary: create (every scope kind),
/// list, search, show, rename, rotate, revoke, rm, verify, the active-key limit and expiry.
final class AgentKeyLifecycleTests: XCTestCase {
  /// A vault of four provider keys: two OpenAI keys on different models, an Anthropic key,
  /// and a key with no provider.
  struct Fixture {
    let sandbox: VaultSandbox
    let values: [String: String]
  }

  static let keyOptions: [(String, [String])] = [
    ("OPENAI_MAIN", ["--provider", "openai", "--model", "gpt-4o"]),
    ("OPENAI_MINI", ["--provider", "openai", "--model", "gpt-4o-mini"]),
    ("ANTHROPIC_MAIN", ["--provider", "anthropic", "--model", "claude-3-5-sonnet"]),
    ("LOCAL_KEY", ["--model", "llama3:70b"]),
  ]

  func makeFixture() throws -> Fixture {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    var values: [String: String] = [:]
    for (name, options) in Self.keyOptions {
      let value = Agent.fakeValue(name.lowercased())
      try sandbox.addOK(name, value: value, options)
      values[name] = value
    }
    return Fixture(sandbox: sandbox, values: values)
  }

  // MARK: Create, list, show, search

  func testEachScopeKindIsListedShownSearchedAndVerified() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let allKeys: Set<String> = ["OPENAI_MAIN", "OPENAI_MINI", "ANTHROPIC_MAIN", "LOCAL_KEY"]
    // name, options, readable keys, words the scope column must show, lifetime in seconds.
    let cases: [(String, [String], Set<String>, [String], Int64)] = [
      ("admin-bot", ["--all"], allKeys, ["all"], 90 * 86_400),
      ("ci", ["--key", "OPENAI_MAIN", "--expires", "30d"], ["OPENAI_MAIN"], ["OPENAI_MAIN"], 30 * 86_400),
      ("nightly", ["--provider", "anthropic", "--expires", "12h"], ["ANTHROPIC_MAIN"], ["anthropic"], 12 * 3_600),
      ("support-bot", ["--model", "gpt-4o"], ["OPENAI_MAIN"], ["gpt-4o"], 90 * 86_400),
      (
        "combo", ["--key", "LOCAL_KEY", "--provider", "anthropic", "--model", "gpt-4o-mini", "--expires", "45m"],
        ["LOCAL_KEY", "ANTHROPIC_MAIN", "OPENAI_MINI"], ["LOCAL_KEY", "anthropic", "gpt-4o-mini"], 45 * 60
      ),
      (
        "two-models", ["--model", "gpt-4o", "--model", "claude-3-5-sonnet", "--expires", "365d"],
        ["OPENAI_MAIN", "ANTHROPIC_MAIN"], ["gpt-4o", "claude-3-5-sonnet"], 365 * 86_400
      ),
    ]
    var tokens: [String: String] = [:]
    for (name, options, _, _, _) in cases {
      tokens[name] = try sandbox.agentCreate(name, options)
    }
    XCTAssertEqual(Set(tokens.values).count, cases.count, "two agent keys got the same token")
    sandbox.assertNoTokenAtRest(Array(tokens.values), after: "create")
    try sandbox.assertOwnerVerifyPasses("create")

    // list: the table, with no passphrase.
    let table = try sandbox.run(["agent-key", "list"], environment: noPassphrase)
    XCTAssertEqual(table.status, 0, table.stderrText)
    assertNoLeak(table, Array(tokens.values) + Array(fixture.values.values))
    let (header, rows) = Agent.table(table.stdoutText)
    XCTAssertEqual(header, ["NAME", "STATUS", "KEY", "SCOPE", "CREATED", "LAST USED", "CREATED BY", "EXPIRES"])
    XCTAssertEqual(Set(rows.keys), Set(cases.map(\.0)))

    // list --json, then each row and entry against what was asked for.
    let listed = try sandbox.agentListJSON()
    XCTAssertEqual(Set(listed.keys), Set(cases.map(\.0)))
    for (name, _, readable, scopeWords, lifetime) in cases {
      let token = tokens[name]!
      guard let entry = listed[name], let row = rows[name] else {
        XCTFail("\(name) is not listed")
        continue
      }
      XCTAssertEqual(entry["status"] as? String, "Active", name)
      XCTAssertEqual(entry["key"] as? String, Agent.display(token), name)
      XCTAssertEqual(Set(entry["readable"] as? [String] ?? []), readable, name)
      XCTAssertEqual(entry["createdBy"] as? String, Agent.osUser, name)
      XCTAssertTrue(entry["revoked"] is NSNull, "\(name): revoked \(entry["revoked"] ?? "missing")")
      let created = Agent.seconds(entry["created"] as? String)
      let expires = Agent.seconds(entry["expires"] as? String)
      XCTAssertEqual(expires - created, lifetime, "\(name): lifetime")
      XCTAssertLessThan(abs(created - Int64(Date().timeIntervalSince1970)), 600, "\(name): created")

      XCTAssertEqual(row.count, 8, "\(name): \(row)")
      guard row.count == 8 else { continue }
      XCTAssertEqual(row[1], "Active", name)
      XCTAssertEqual(row[2], Agent.display(token), name)
      for word in scopeWords { XCTAssertTrue(row[3].contains(word), "\(name): scope '\(row[3])' lacks \(word)") }
      XCTAssertEqual(row[4], String((entry["created"] as? String ?? "").prefix(10)), name)
      XCTAssertEqual(row[5], "never", name)
      XCTAssertEqual(row[6], Agent.osUser, name)
      XCTAssertTrue(row[7].hasPrefix(String((entry["expires"] as? String ?? "").prefix(10))), "\(name): \(row[7])")
      // "expires in N ..." only under 7 days.
      XCTAssertEqual(row[7].contains("expires in"), lifetime < 7 * 86_400, "\(name): \(row[7])")

      // show and show --json agree with list.
      let shown = try sandbox.run(["agent-key", "show", name], environment: noPassphrase)
      XCTAssertEqual(shown.status, 0, shown.stderrText)
      let fields = Agent.fields(shown.stdoutText)
      XCTAssertEqual(fields["Name"], name)
      XCTAssertEqual(fields["Status"], "Active")
      XCTAssertEqual(fields["Key"], Agent.display(token))
      XCTAssertEqual(fields["Created by"], Agent.osUser)
      XCTAssertEqual(Agent.readable(shown.stdoutText), readable, name)
      XCTAssertTrue(fields["Expires"]?.hasPrefix(entry["expires"] as? String ?? "?") ?? false, shown.stdoutText)
      assertNoLeak(shown, [token] + Array(fixture.values.values))
      let json = try sandbox.agentShowJSON(name)
      XCTAssertEqual(NSDictionary(dictionary: json), NSDictionary(dictionary: entry), "show --json \(name)")

      // verify with the token alone.
      let verified = try sandbox.agentVerify(token)
      XCTAssertEqual(verified.status, 0, "\(name): \(verified.stderrText)")
      XCTAssertEqual(Agent.fields(verified.stdoutText)["Status"], "Active", name)
      XCTAssertEqual(Agent.readable(verified.stdoutText), readable, name)
      XCTAssertTrue(
        Agent.fields(verified.stdoutText)["Agent key"]?.contains(name) ?? false, verified.stdoutText)
      XCTAssertTrue(
        Agent.fields(verified.stdoutText)["Expires"]?.hasPrefix(entry["expires"] as? String ?? "?") ?? false)
      assertNoLeak(verified, [token] + Array(fixture.values.values))
      // And the file really lets this token decrypt exactly those keys.
      let values = try Agent.readableValues(token: token, vaultPath: sandbox.vaultPath)
      XCTAssertEqual(values, fixture.values.filter { readable.contains($0.key) }, name)
    }

    // search: name, scope, creator; case-insensitive.
    func searched(_ term: String) throws -> Set<String> {
      let result = try sandbox.run(["agent-key", "search", term, "--json"], environment: noPassphrase)
      XCTAssertEqual(result.status, 0, result.stderrText)
      return Set(try jsonArray(result.stdout).compactMap { $0["name"] as? String })
    }
    XCTAssertEqual(try searched("BOT"), ["admin-bot", "support-bot"])
    XCTAssertEqual(try searched("gpt-4o-mini"), ["combo"])
    XCTAssertEqual(try searched("anthropic"), ["nightly", "combo"])
    XCTAssertEqual(try searched("OPENAI_MAIN"), ["ci"])
    XCTAssertEqual(try searched("no-such-agent-zz"), [])
    let textSearch = try sandbox.run(["agent-key", "search", "nightly"], environment: noPassphrase)
    XCTAssertEqual(textSearch.status, 0, textSearch.stderrText)
    XCTAssertEqual(Set(Agent.table(textSearch.stdoutText).rows.keys), ["nightly"])
  }

  func testCreatedByIsTheOSUserUnlessVaultUserIsSet() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    try sandbox.agentCreate("plain", ["--all"])
    try sandbox.agentCreate("by-ci", ["--all"], environment: ["VAULT_USER": "ci-runner-7f3a"])
    let listed = try sandbox.agentListJSON()
    XCTAssertEqual(listed["plain"]?["createdBy"] as? String, Agent.osUser)
    XCTAssertEqual(listed["by-ci"]?["createdBy"] as? String, "ci-runner-7f3a")
    let table = try sandbox.run(["agent-key", "list"], environment: noPassphrase)
    XCTAssertEqual(Agent.table(table.stdoutText).rows["by-ci"]?[6], "ci-runner-7f3a")
    let search = try sandbox.run(["agent-key", "search", "RUNNER-7F", "--json"], environment: noPassphrase)
    XCTAssertEqual(try jsonArray(search.stdout).compactMap { $0["name"] as? String }, ["by-ci"])
  }

  // MARK: Token output

  func testTokenIsShownOnceAloneOnStdoutInANewPrivateFileOrInJSON() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    // Alone on stdout: what T=$(vault agent-key create ...) captures.
    let plain = try sandbox.run(["agent-key", "create", "plain", "--key", "OPENAI_MAIN"])
    XCTAssertEqual(plain.status, 0, plain.stderrText)
    let token = plain.stdoutText.hasSuffix("\n") ? String(plain.stdoutText.dropLast()) : plain.stdoutText
    XCTAssertTrue(Agent.isToken(token), "stdout: \(plain.stdoutText.debugDescription)")
    XCTAssertEqual(token.count, 63)
    XCTAssertFalse(contains(plain.stderr, Array(token.utf8)), "the token went to stderr too")

    // --out: a new 0600 file holding the token; nothing on stdout.
    let directory = sandbox.root + "/tokens"
    try makeDirectory(directory)
    let outPath = directory + "/ci.token"
    let out = try sandbox.run(["agent-key", "create", "ci", "--key", "OPENAI_MAIN", "--out", outPath])
    XCTAssertEqual(out.status, 0, out.stderrText)
    XCTAssertEqual(out.stdoutText, "", "--out still printed to stdout")
    XCTAssertEqual(fileMode(outPath), 0o600)
    let written = String(decoding: try readFile(outPath), as: UTF8.self)
    let fileToken = written.trimmingCharacters(in: .newlines)
    XCTAssertTrue(Agent.isToken(fileToken), "file holds \(written.debugDescription)")
    XCTAssertTrue(written == fileToken || written == fileToken + "\n", written.debugDescription)
    assertNoLeak(out, [fileToken])
    XCTAssertEqual(try sandbox.agentShowJSON("ci")["key"] as? String, Agent.display(fileToken))
    let fromFile = try sandbox.run(
      ["agent-key", "verify", "--agent-key-file", outPath], environment: noPassphrase)
    XCTAssertEqual(fromFile.status, 0, fromFile.stderrText)
    XCTAssertEqual(Agent.readable(fromFile.stdoutText), ["OPENAI_MAIN"])

    // --out onto an existing file: refused, the file kept, no agent key created.
    let existing = directory + "/existing.token"
    try writeFile(existing, Array("keep me\n".utf8), mode: 0o644)
    let refused = try sandbox.assertUnchanged {
      try sandbox.run(["agent-key", "create", "clobber", "--all", "--out", existing])
    }
    assertFailure(refused, 65, mentioning: [existing])
    XCTAssertEqual(try readFile(existing), Array("keep me\n".utf8))
    XCTAssertEqual(fileMode(existing), 0o644)
    assertFailure(try sandbox.run(["agent-key", "show", "clobber"], environment: noPassphrase), 3)

    // --out onto a dangling symlink: refused; its target is not created.
    let target = directory + "/target.token"
    let link = directory + "/link.token"
    XCTAssertEqual(symlink(target, link), 0)
    let viaLink = try sandbox.assertUnchanged {
      try sandbox.run(["agent-key", "create", "linked", "--all", "--out", link])
    }
    XCTAssertNotEqual(viaLink.status, 0)
    XCTAssertEqual(viaLink.stdoutText, "")
    XCTAssertFalse(fileExists(target), "the token was written through a symlink")

    // --json: the token exactly once.
    let json = try sandbox.run(["agent-key", "create", "scripted", "--model", "gpt-4o", "--json"])
    XCTAssertEqual(json.status, 0, json.stderrText)
    let object = try jsonObject(json.stdout)
    let jsonToken = object["token"] as? String ?? ""
    XCTAssertTrue(Agent.isToken(jsonToken), "token: \(jsonToken)")
    XCTAssertEqual(Agent.occurrences(of: jsonToken, in: json.stdout), 1, json.stdoutText)
    XCTAssertFalse(contains(json.stderr, Array(jsonToken.utf8)))
    XCTAssertEqual(object["name"] as? String, "scripted")
    XCTAssertEqual(object["key"] as? String, Agent.display(jsonToken))
    XCTAssertEqual(object["expires"] as? String, try sandbox.agentShowJSON("scripted")["expires"] as? String)
    XCTAssertEqual(try sandbox.agentReadable(jsonToken), ["OPENAI_MAIN"])

    XCTAssertEqual(Set([token, fileToken, jsonToken]).count, 3)
    sandbox.assertNoTokenAtRest([token, fileToken, jsonToken], after: "create with --out and --json")
    try sandbox.assertOwnerVerifyPasses("create")
  }

  /// A create whose token cannot be delivered must not leave an active agent key behind
  /// whose token nobody has (it would count against the limit and be readable by no one).
  func testCreateThatCannotWriteItsOutFileLeavesNoAgentKey() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let missing = sandbox.root + "/no-such-directory/ci.token"
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["agent-key", "create", "orphan", "--all", "--out", missing])
    }
    XCTAssertNotEqual(result.status, 0, "create reported success without writing the token")
    XCTAssertEqual(result.stdoutText, "")
    XCTAssertEqual(Robust.errorLineCount(result), 1, result.stderrText)
    XCTAssertNil(try sandbox.agentListJSON()["orphan"], "an agent key whose token was never delivered exists")
  }

  // MARK: Verify

  func testVerifyTakesTheTokenFromTheEnvironmentStdinOrAFile() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--key", "OPENAI_MAIN", "--expires", "30d"])
    let tokenFile = sandbox.root + "/ci.token"
    try writeFile(tokenFile, Array((token + "\n").utf8), mode: 0o600)

    let viaEnvironment = try sandbox.agentVerify(token)
    let viaStdin = try sandbox.run(
      ["agent-key", "verify"], stdin: Array((token + "\n").utf8), environment: noPassphrase)
    let viaFile = try sandbox.run(["agent-key", "verify", "--agent-key-file", tokenFile], environment: noPassphrase)
    for (how, result) in [("VAULT_AGENT_KEY", viaEnvironment), ("stdin", viaStdin), ("--agent-key-file", viaFile)] {
      XCTAssertEqual(result.status, 0, "\(how): \(result.stderrText)")
      XCTAssertEqual(result.stdoutText, viaEnvironment.stdoutText, how)
      let fields = Agent.fields(result.stdoutText)
      XCTAssertEqual(fields["Status"], "Active", how)
      XCTAssertEqual(Agent.readable(result.stdoutText), ["OPENAI_MAIN"], how)
      XCTAssertTrue(fields["Scope"]?.contains("OPENAI_MAIN") ?? false, "\(how): \(result.stdoutText)")
      XCTAssertTrue(
        fields["Expires"]?.contains("in 29 days") ?? false || fields["Expires"]?.contains("in 30 days") ?? false,
        "\(how): \(result.stdoutText)")
      assertNoLeak(result, [token] + Array(fixture.values.values))
    }

    // The documented order: VAULT_AGENT_KEY, else --agent-key-file, else stdin.
    let garbageFile = sandbox.root + "/garbage.token"
    try writeFile(garbageFile, Array("not-a-token\n".utf8), mode: 0o600)
    let environmentFirst = try sandbox.agentVerify(token, ["--agent-key-file", garbageFile])
    XCTAssertEqual(environmentFirst.status, 0, environmentFirst.stderrText)
    let fileBeforeStdin = try sandbox.run(
      ["agent-key", "verify", "--agent-key-file", tokenFile], stdin: Array("garbage\n".utf8),
      environment: noPassphrase)
    XCTAssertEqual(fileBeforeStdin.status, 0, fileBeforeStdin.stderrText)

    sandbox.assertNoTokenAtRest([token], after: "verify")
    try sandbox.assertOwnerVerifyPasses("verify")
  }

  func testVerifyJSONForEveryScopeKind() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let cases: [(String, [String], Set<String>)] = [
      ("all", ["--all"], ["OPENAI_MAIN", "OPENAI_MINI", "ANTHROPIC_MAIN", "LOCAL_KEY"]),
      ("by-key", ["--key", "OPENAI_MAIN"], ["OPENAI_MAIN"]),
      ("by-provider", ["--provider", "anthropic"], ["ANTHROPIC_MAIN"]),
      ("by-model", ["--model", "gpt-4o-mini"], ["OPENAI_MINI"]),
      ("mixed", ["--key", "LOCAL_KEY", "--model", "gpt-4o"], ["LOCAL_KEY", "OPENAI_MAIN"]),
    ]
    for (name, options, readable) in cases {
      let token = try sandbox.agentCreate(name, options)
      let result = try sandbox.agentVerify(token, ["--json"])
      XCTAssertEqual(result.status, 0, "verify --json for \(name): \(result.stderrText.prefix(300))")
      assertNoLeak(result, [token] + Array(fixture.values.values))
      guard result.status == 0 else { continue }
      let object = try jsonObject(result.stdout)
      XCTAssertEqual(object["name"] as? String, name)
      XCTAssertEqual(object["status"] as? String, "Active")
      XCTAssertEqual(object["key"] as? String, Agent.display(token))
      XCTAssertEqual(Set(object["readable"] as? [String] ?? []), readable, name)
      XCTAssertEqual(object["expires"] as? String, try sandbox.agentShowJSON(name)["expires"] as? String)
      let scope = object["scope"] as? [String: Any] ?? [:]
      XCTAssertEqual(scope["all"] as? Bool, name == "all", name)
      if options.contains("--key") {
        XCTAssertEqual(scope["keys"] as? [String], [options[options.firstIndex(of: "--key")! + 1]], name)
      }
    }
  }

  // MARK: Rename, rotate, revoke, rm

  func testRenameKeepsTheToken() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--key", "OPENAI_MAIN"])
    try sandbox.agentCreate("other", ["--all"])
    let renamed = try sandbox.run(["agent-key", "rename", "ci", "ci-main"])
    XCTAssertEqual(renamed.status, 0, renamed.stderrText)
    XCTAssertEqual(renamed.stdoutText, "")
    let listed = try sandbox.agentListJSON()
    XCTAssertEqual(Set(listed.keys), ["ci-main", "other"])
    XCTAssertEqual(listed["ci-main"]?["key"] as? String, Agent.display(token))
    assertFailure(try sandbox.run(["agent-key", "show", "ci"], environment: noPassphrase), 3, mentioning: ["ci"])
    let verified = try sandbox.agentVerify(token)
    XCTAssertEqual(verified.status, 0, verified.stderrText)
    XCTAssertTrue(Agent.fields(verified.stdoutText)["Agent key"]?.hasPrefix("ci-main") ?? false, verified.stdoutText)
    XCTAssertEqual(Agent.readable(verified.stdoutText), ["OPENAI_MAIN"])

    // Onto a taken name, or an invalid one: refused, nothing changed.
    let taken = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "rename", "ci-main", "other"]) }
    assertFailure(taken, 4, mentioning: ["other"])
    let invalid = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "rename", "ci-main", "bad name"]) }
    assertFailure(invalid, 65)
    let missing = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "rename", "nobody", "someone"]) }
    assertFailure(missing, 3, mentioning: ["nobody"])
    try sandbox.assertOwnerVerifyPasses("rename")
  }

  func testRotateWithoutGraceRefusesTheOldTokenAtOnce() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let old = try sandbox.agentCreate("ci", ["--key", "OPENAI_MAIN", "--expires", "30d"])
    let expiresBefore = try sandbox.agentShowJSON("ci")["expires"] as? String
    let rotated = try sandbox.run(["agent-key", "rotate", "ci"])
    XCTAssertEqual(rotated.status, 0, rotated.stderrText)
    let new = rotated.stdoutText.trimmingCharacters(in: .newlines)
    XCTAssertTrue(Agent.isToken(new), rotated.stdoutText.debugDescription)
    XCTAssertTrue(rotated.stdoutText == new || rotated.stdoutText == new + "\n")
    XCTAssertNotEqual(new, old)
    assertNoLeak(rotated, [old])
    XCTAssertFalse(contains(rotated.stderr, Array(new.utf8)))

    let refused = try sandbox.assertUnchanged { try sandbox.agentVerify(old) }
    assertFailure(refused, 11, mentioning: ["access not permitted"])
    assertNoLeak(refused, [old, new] + Array(fixture.values.values))
    XCTAssertEqual(try sandbox.agentReadable(new), ["OPENAI_MAIN"])
    XCTAssertEqual(
      try Agent.readableValues(token: new, vaultPath: sandbox.vaultPath),
      ["OPENAI_MAIN": fixture.values["OPENAI_MAIN"]!])

    let shown = try sandbox.agentShowJSON("ci")
    XCTAssertEqual(shown["key"] as? String, Agent.display(new))
    XCTAssertEqual(shown["expires"] as? String, expiresBefore, "rotate without --expires changed the expiry")
    XCTAssertEqual(shown["status"] as? String, "Active")

    // --expires gives the new token a new lifetime from now; --json carries it once.
    let again = try sandbox.run(["agent-key", "rotate", "ci", "--expires", "7d", "--json"])
    XCTAssertEqual(again.status, 0, again.stderrText)
    let object = try jsonObject(again.stdout)
    let third = object["token"] as? String ?? ""
    XCTAssertTrue(Agent.isToken(third))
    XCTAssertEqual(Agent.occurrences(of: third, in: again.stdout), 1)
    let afterSecond = try sandbox.agentShowJSON("ci")
    XCTAssertEqual(
      Agent.seconds(afterSecond["expires"] as? String) - Int64(Date().timeIntervalSince1970), 7 * 86_400,
      accuracy: 120)
    assertFailure(try sandbox.agentVerify(new), 11)
    XCTAssertEqual(try sandbox.agentReadable(third), ["OPENAI_MAIN"])

    // Two rotations with a grace period: only the newest earlier token keeps working.
    var graced: [String] = []
    for _ in 0..<2 {
      let result = try sandbox.run(["agent-key", "rotate", "ci", "--grace", "1h"])
      XCTAssertEqual(result.status, 0, result.stderrText)
      graced.append(result.stdoutText.trimmingCharacters(in: .newlines))
    }
    assertFailure(try sandbox.agentVerify(third), 11, mentioning: ["access not permitted"])
    XCTAssertEqual(try sandbox.agentReadable(graced[0]), ["OPENAI_MAIN"], "the token in its grace period stopped")
    XCTAssertEqual(try sandbox.agentReadable(graced[1]), ["OPENAI_MAIN"])
    XCTAssertEqual(try sandbox.agentShowJSON("ci")["key"] as? String, Agent.display(graced[1]))

    sandbox.assertNoTokenAtRest([old, new, third] + graced, after: "rotate")
    try sandbox.assertOwnerVerifyPasses("rotate")
  }

  func testRevokeNeedsConfirmationThenStopsTheTokenAndRekeysWhatItCouldRead() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--provider", "openai"])
    let bystander = try sandbox.agentCreate("bystander", ["--key", "OPENAI_MAIN"])
    let store = VaultStore(path: sandbox.vaultPath)
    let dataKeysBefore = try store.read().document.keys.reduce(into: [String: [UInt8]]()) {
      $0[$1.name] = $1.sealedDataKey
    }

    // No terminal and no --yes: refused with 10, nothing changed, the token still works.
    let unconfirmed = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "revoke", "ci"]) }
    assertFailure(unconfirmed, 10, mentioning: ["ci"])
    XCTAssertEqual(try sandbox.agentReadable(token), ["OPENAI_MAIN", "OPENAI_MINI"])

    let revoked = try sandbox.run(["agent-key", "revoke", "ci", "--yes"])
    XCTAssertEqual(revoked.status, 0, revoked.stderrText)
    XCTAssertEqual(revoked.stdoutText, "")
    // It names the provider keys the agent could read, and only those.
    XCTAssertTrue(revoked.stderrText.contains("OPENAI_MAIN"), revoked.stderrText)
    XCTAssertTrue(revoked.stderrText.contains("OPENAI_MINI"), revoked.stderrText)
    XCTAssertFalse(revoked.stderrText.contains("ANTHROPIC_MAIN"), revoked.stderrText)
    assertNoLeak(revoked, [token, bystander] + Array(fixture.values.values))

    // Re-keyed: the data keys it could read changed, the others did not; the values did not.
    let keysAfter = try store.read().document.keys
    for key in keysAfter {
      if key.provider == "openai" {
        XCTAssertNotEqual(key.sealedDataKey, dataKeysBefore[key.name], "\(key.name) was not re-keyed")
      } else {
        XCTAssertEqual(key.sealedDataKey, dataKeysBefore[key.name], "\(key.name) was re-keyed needlessly")
      }
    }
    XCTAssertEqual(Dictionary(uniqueKeysWithValues: try Robust.decryptAll(path: sandbox.vaultPath)), fixture.values)
    // Another agent that shares a re-keyed key still reads it.
    XCTAssertEqual(
      try Agent.readableValues(token: bystander, vaultPath: sandbox.vaultPath),
      ["OPENAI_MAIN": fixture.values["OPENAI_MAIN"]!])

    let shown = try sandbox.agentShowJSON("ci")
    XCTAssertEqual(shown["status"] as? String, "Revoked")
    let revokedOn = shown["revoked"] as? String ?? "?"
    let refused = try sandbox.assertUnchanged { try sandbox.agentVerify(token) }
    assertFailure(refused, 11, mentioning: ["access not permitted", "revoked on \(revokedOn)"])
    assertNoLeak(refused, [token] + Array(fixture.values.values))
    XCTAssertEqual(Agent.table(try sandbox.run(["agent-key", "list"]).stdoutText).rows["ci"]?[1], "Revoked")

    // A revoked key cannot be rotated back to life, nor revoked twice.
    let rotate = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "rotate", "ci"]) }
    XCTAssertNotEqual(rotate.status, 0)
    XCTAssertEqual(rotate.stdoutText, "", "rotate of a revoked key printed a token")
    let twice = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "revoke", "ci", "--yes"]) }
    XCTAssertNotEqual(twice.status, 0)

    sandbox.assertNoTokenAtRest([token, bystander], after: "revoke")
    try sandbox.assertOwnerVerifyPasses("revoke")
  }

  func testRemoveNeedsConfirmationThenDeletesTheRecord() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let token = try sandbox.agentCreate("ci", ["--key", "OPENAI_MAIN"])
    let revokedFirst = try sandbox.agentCreate("old", ["--all"])
    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "old", "--yes"]).status, 0)

    let unconfirmed = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "rm", "ci"]) }
    assertFailure(unconfirmed, 10, mentioning: ["ci"])
    XCTAssertEqual(try sandbox.agentReadable(token), ["OPENAI_MAIN"])

    // An active key: removed, what it could read named and re-keyed.
    let store = VaultStore(path: sandbox.vaultPath)
    let dataKeyBefore = try store.read().document.key(named: "OPENAI_MAIN").sealedDataKey
    let removed = try sandbox.run(["agent-key", "rm", "ci", "--yes"])
    XCTAssertEqual(removed.status, 0, removed.stderrText)
    XCTAssertTrue(removed.stderrText.contains("OPENAI_MAIN"), removed.stderrText)
    XCTAssertNotEqual(try store.read().document.key(named: "OPENAI_MAIN").sealedDataKey, dataKeyBefore)
    assertNoLeak(removed, [token] + Array(fixture.values.values))
    XCTAssertNil(try sandbox.agentListJSON()["ci"])
    assertFailure(try sandbox.run(["agent-key", "show", "ci"], environment: noPassphrase), 3)
    let refused = try sandbox.assertUnchanged { try sandbox.agentVerify(token) }
    assertFailure(refused, 11, mentioning: ["access not permitted"])
    assertNoLeak(refused, [token])

    // A revoked key: removed too.
    XCTAssertEqual(try sandbox.run(["agent-key", "rm", "old", "--yes"]).status, 0)
    XCTAssertEqual(try sandbox.agentListJSON().count, 0)
    let none = try sandbox.run(["agent-key", "list"], environment: noPassphrase)
    XCTAssertEqual(none.status, 0, none.stderrText)
    XCTAssertEqual(none.stdoutText, "")
    let gone = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "rm", "old", "--yes"]) }
    assertFailure(gone, 3, mentioning: ["old"])

    XCTAssertEqual(Dictionary(uniqueKeysWithValues: try Robust.decryptAll(path: sandbox.vaultPath)), fixture.values)
    sandbox.assertNoTokenAtRest([token, revokedFirst], after: "rm")
    try sandbox.assertOwnerVerifyPasses("rm")
  }

  // MARK: Limit

  func testTenActiveKeysByDefaultThenTheLimitExplainsItself() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    for index in 1...10 { try sandbox.agentCreate("agent-\(index)", ["--model", "gpt-4o"]) }
    let config = try sandbox.run(["config", "get", "agent-keys.limit"], environment: noPassphrase)
    XCTAssertEqual(config.stdoutText, "10\n", config.stderrText)

    let eleventh = try sandbox.assertUnchanged {
      try sandbox.run(["agent-key", "create", "agent-11", "--model", "gpt-4o"])
    }
    assertFailure(eleventh, 13, mentioning: ["10"])
    let hint = hintLine(eleventh) ?? ""
    XCTAssertTrue(hint.contains("revoke"), "hint: \(eleventh.stderrText)")
    XCTAssertTrue(hint.contains("vault config set agent-keys.limit N"), "hint: \(eleventh.stderrText)")

    let set = try sandbox.run(["config", "set", "agent-keys.limit", "11"])
    XCTAssertEqual(set.status, 0, set.stderrText)
    XCTAssertEqual(try sandbox.run(["config", "get", "agent-keys.limit"]).stdoutText, "11\n")
    let token = try sandbox.agentCreate("agent-11", ["--model", "gpt-4o"])
    XCTAssertEqual(try sandbox.agentReadable(token), ["OPENAI_MAIN"])
    assertFailure(try sandbox.run(["agent-key", "create", "agent-12", "--all"]), 13)

    // A revoked key does not count.
    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "agent-1", "--yes"]).status, 0)
    try sandbox.agentCreate("agent-12", ["--all"])
    assertFailure(try sandbox.run(["agent-key", "create", "agent-13", "--all"]), 13)
    // Nor does a removed one.
    XCTAssertEqual(try sandbox.run(["agent-key", "rm", "agent-2", "--yes"]).status, 0)
    try sandbox.agentCreate("agent-13", ["--all"])

    // A limit out of range is refused.
    let invalid = try sandbox.assertUnchanged { try sandbox.run(["config", "set", "agent-keys.limit", "-1"]) }
    XCTAssertNotEqual(invalid.status, 0)
    let unknown = try sandbox.assertUnchanged { try sandbox.run(["config", "set", "agent-keys.max", "3"]) }
    assertFailure(unknown, 65, mentioning: ["unknown setting", "agent-keys.limit"])
    try sandbox.assertOwnerVerifyPasses("the limit")
  }

  // MARK: Bad input

  func testCreateRefusesBadInputAndChangesNothing() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    try sandbox.agentCreate("taken", ["--all"])
    let cases: [([String], Int32, [String: String?])] = [
      (["fresh"], 64, [:]),  // no scope
      (["fresh", "--all", "--key", "OPENAI_MAIN"], 64, [:]),
      (["fresh", "--key", "NO_SUCH_KEY"], 3, [:]),
      (["fresh", "--all", "--expires", "366d"], 65, [:]),
      (["fresh", "--all", "--expires", "0d"], 65, [:]),
      (["fresh", "--all", "--expires", "2w"], 65, [:]),
      (["fresh", "--all", "--expires", "soon"], 65, [:]),
      (["taken", "--all"], 4, [:]),
      (["bad name", "--all"], 65, [:]),
      (["-dash", "--all"], 64, [:]),
      (["fresh", "--all"], 64, noPassphrase),
    ]
    for (arguments, status, environment) in cases {
      let result = try sandbox.assertUnchanged {
        try sandbox.run(["agent-key", "create"] + arguments, environment: environment)
      }
      XCTAssertEqual(result.status, status, "\(arguments): \(result.stderrText)")
      XCTAssertEqual(result.stdoutText, "", "\(arguments) printed to stdout")
      XCTAssertEqual(Robust.errorLineCount(result), 1, "\(arguments): \(result.stderrText)")
    }
    XCTAssertEqual(Set(try sandbox.agentListJSON().keys), ["taken"])
    // The longest lifetime is allowed.
    let longest = try sandbox.agentCreate("longest", ["--all", "--expires", "365d"])
    XCTAssertEqual(try sandbox.agentReadable(longest).count, 4)
  }

  // MARK: Time

  /// One sleep serves every check that needs time to pass: expiry, the grace period after a
  /// rotation, expired keys no longer counting against the limit, and the "expires in" text.
  func testExpiryAndGracePeriodPass() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    XCTAssertEqual(try sandbox.run(["config", "set", "agent-keys.limit", "4"]).status, 0)
    try sandbox.agentCreate("filler", ["--all"])
    let days = try sandbox.agentCreate("three-days", ["--model", "llama3:70b", "--expires", "3d"])
    let old = try sandbox.agentCreate("graceful", ["--provider", "anthropic"])
    let short = try sandbox.agentCreate("short", ["--key", "OPENAI_MAIN", "--expires", "3s"])
    XCTAssertEqual(try sandbox.agentReadable(short), ["OPENAI_MAIN"])
    // Four active keys: the limit.
    assertFailure(try sandbox.run(["agent-key", "create", "one-too-many", "--all"]), 13)
    let shortExpires = try sandbox.agentShowJSON("short")["expires"] as? String ?? "?"
    let rotated = try sandbox.run(["agent-key", "rotate", "graceful", "--grace", "3s"])
    XCTAssertEqual(rotated.status, 0, rotated.stderrText)
    let graceEnd = Int64(Date().timeIntervalSince1970) + 3
    let new = rotated.stdoutText.trimmingCharacters(in: .newlines)
    XCTAssertTrue(Agent.isToken(new))
    XCTAssertEqual(try sandbox.agentReadable(old), ["ANTHROPIC_MAIN"], "the old token stopped before its grace")
    XCTAssertEqual(try sandbox.agentReadable(new), ["ANTHROPIC_MAIN"])
    let shownOld = Agent.fields(try sandbox.run(["agent-key", "show", "graceful"]).stdoutText)["Old key"]
    XCTAssertTrue(shownOld?.hasPrefix(Agent.display(old)) ?? false, "show lacks the old key: \(shownOld ?? "nil")")

    // Wait until both short lifetimes have passed (the file's own timestamps say when).
    let deadline = max(Agent.seconds(shortExpires), graceEnd)
    while Int64(Date().timeIntervalSince1970) <= deadline { usleep(200_000) }

    let expired = try sandbox.assertUnchanged { try sandbox.agentVerify(short) }
    assertFailure(expired, 11, mentioning: ["access not permitted", "expired on \(shortExpires)"])
    assertNoLeak(expired, [short] + Array(fixture.values.values))
    let oldRefused = try sandbox.assertUnchanged { try sandbox.agentVerify(old) }
    assertFailure(oldRefused, 11, mentioning: ["access not permitted"])
    assertNoLeak(oldRefused, [old, new])
    XCTAssertEqual(try sandbox.agentReadable(new), ["ANTHROPIC_MAIN"])

    let table = Agent.table(try sandbox.run(["agent-key", "list"], environment: noPassphrase).stdoutText).rows
    XCTAssertEqual(table["short"]?[1], "Expired")
    XCTAssertFalse(table["short"]?[7].contains("expires in") ?? true, "\(table["short"] ?? [])")
    XCTAssertEqual(table["graceful"]?[1], "Active")
    XCTAssertEqual(try sandbox.agentShowJSON("short")["status"] as? String, "Expired")
    XCTAssertTrue(table["three-days"]?[7].contains("(expires in ") ?? false, "\(table["three-days"] ?? [])")

    // The expired key no longer counts against the limit (4: graceful, three-days, filler).
    let fourth = try sandbox.agentCreate("fourth", ["--all"])
    XCTAssertEqual(try sandbox.agentReadable(fourth).count, 4)
    // After that owner write purged its slot the expired token is still refused the same way.
    assertFailure(try sandbox.agentVerify(short), 11, mentioning: ["expired on \(shortExpires)"])
    assertFailure(try sandbox.agentVerify(old), 11)
    XCTAssertEqual(try sandbox.agentReadable(days), ["LOCAL_KEY"])
    // An expired key cannot be rotated back to life.
    let rotateExpired = try sandbox.assertUnchanged { try sandbox.run(["agent-key", "rotate", "short"]) }
    XCTAssertNotEqual(rotateExpired.status, 0)
    XCTAssertEqual(rotateExpired.stdoutText, "")

    sandbox.assertNoTokenAtRest([short, old, new, days, fourth], after: "expiry")
    try sandbox.assertOwnerVerifyPasses("expiry")
  }

  /// "expires in N days" under 7 days: a key made with --expires 3d a second ago expires in
  /// 3 days, not 2 (the remaining time is not rounded down to whole days).
  func testExpiresInDaysForAKeyUnderSevenDays() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    try sandbox.agentCreate("three-days", ["--model", "llama3:70b", "--expires", "3d"])
    try sandbox.agentCreate("six-days", ["--model", "llama3:70b", "--expires", "6d"])
    try sandbox.agentCreate("thirty-days", ["--model", "llama3:70b", "--expires", "30d"])
    let created = Agent.seconds(try sandbox.agentShowJSON("six-days")["created"] as? String)
    while Int64(Date().timeIntervalSince1970) <= created { usleep(100_000) }
    let rows = Agent.table(try sandbox.run(["agent-key", "list"], environment: noPassphrase).stdoutText).rows
    XCTAssertEqual(rows["three-days"]?.last?.hasSuffix("(expires in 3 days)"), true, "\(rows["three-days"] ?? [])")
    XCTAssertEqual(rows["six-days"]?.last?.hasSuffix("(expires in 6 days)"), true, "\(rows["six-days"] ?? [])")
    XCTAssertEqual(rows["thirty-days"]?.last?.contains("expires in"), false, "\(rows["thirty-days"] ?? [])")
  }
}
