import Foundation
import XCTest

/// init, add, get: the commands a user meets first.
final class CommandInitTests: XCTestCase {
  func testInitCreatesAnEmptyVault0600AndNamesThePath() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["init"] + TestKDF.options)
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(fileExists(sandbox.vaultPath))
    XCTAssertEqual(fileMode(sandbox.vaultPath), 0o600)
    XCTAssertTrue(result.stderrText.contains(sandbox.vaultPath), result.stderrText)
    XCTAssertEqual(try sandbox.listJSON().count, 0)
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertTrue(verify.stdoutText.hasPrefix("ok: 0 provider keys verified"), verify.stdoutText)
  }

  /// At the lowest cost a release build writes, the one a user can choose.
  func testInitBelowTheDefaultCostWarnsOnStderr() throws {
    let sandbox = try VaultSandbox(productionFloor: true)
    let result = try sandbox.run(["init", "--scrypt-log-n", "14"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(
      result.stderrLines.contains { $0.hasPrefix("vault: warning: ") }, "no warning for N=2^14: \(result.stderrText)")
    XCTAssertEqual(result.stdoutText, "")
  }

  func testInitAtTheDefaultCostDoesNotWarn() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["init", "--scrypt-log-n", "17"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertFalse(result.stderrText.contains("warning"), result.stderrText)
    XCTAssertTrue(fileExists(sandbox.vaultPath))
  }

  func testInitTwiceExits4AndLeavesTheFirstVault() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("KEEP_ME", value: value)
    let result = try sandbox.assertUnchanged { try sandbox.run(["init"] + TestKDF.options) }
    assertFailure(result, 4, mentioning: [sandbox.vaultPath])
    XCTAssertNotNil(hintLine(result))
    XCTAssertEqual(try sandbox.getValue("KEEP_ME"), Array(value.utf8))
  }

  /// The range of a release build: 14 to 20, with no test variable lowering the floor.
  func testInitRejectsACostOutsideTheRangeAsInvalidInput() throws {
    for cost in ["13", "10", "21", "abc", "", "-1"] {
      let sandbox = try VaultSandbox(productionFloor: true)
      let result = try sandbox.run(["init", "--scrypt-log-n", cost])
      assertFailure(result, 65, mentioning: ["--scrypt-log-n must be 14 to 20 (N=2^14 to 2^20)"])
      XCTAssertFalse(fileExists(sandbox.vaultPath), "a vault was created with --scrypt-log-n \(cost)")
    }
  }

  func testInitWithoutAnyPassphraseSourceExits64AndCreatesNothing() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["init"] + TestKDF.options, environment: noPassphrase)
    assertFailure(result, 64)
    XCTAssertNotNil(hintLine(result))
    XCTAssertFalse(fileExists(sandbox.vaultPath))
  }

  func testInitWithAnEmptyPassphraseFileExits65AndCreatesNothing() throws {
    let sandbox = try VaultSandbox()
    let empty = sandbox.root + "/empty-passphrase"
    try writeFile(empty, Array("\n".utf8), mode: 0o600)
    let result = try sandbox.run(["init"] + TestKDF.options, environment: ["VAULT_PASSPHRASE_FILE": empty])
    assertFailure(result, 65)
    XCTAssertFalse(fileExists(sandbox.vaultPath))
  }

  func testInitWithThePassphraseInTheEnvironmentVariable() throws {
    let sandbox = try VaultSandbox()
    let passphrase = "env " + fakeSecret("pass-")
    let environment: [String: String?] = ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": passphrase]
    let created = try sandbox.run(["init"] + TestKDF.options, environment: environment)
    XCTAssertEqual(created.status, 0, created.stderrText)
    let value = fakeSecret()
    let added = try sandbox.run(["add", "ENV_PASS"], stdin: Array(value.utf8), environment: environment)
    XCTAssertEqual(added.status, 0, added.stderrText)
    XCTAssertEqual(try sandbox.getValue("ENV_PASS", environment: environment), Array(value.utf8))
    // The sandbox's passphrase file holds another passphrase: it must not open this vault.
    assertFailure(try sandbox.run(["get", "ENV_PASS"]), 5)
    assertNoLeak(added, [value, passphrase])
  }
}

final class CommandAddTests: XCTestCase {
  private func addRaw(_ sandbox: VaultSandbox, _ name: String, _ stdin: [UInt8], _ options: [String] = []) throws
    -> RunResult
  {
    try sandbox.run(["add", name] + options, stdin: stdin)
  }

  func testAddDropsExactlyOneTrailingNewline() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    let result = try addRaw(sandbox, "ONE_LF", Array((value + "\n").utf8))
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdoutText, "")
    XCTAssertTrue(result.stderrText.contains("ONE_LF"), result.stderrText)
    assertNoLeak(result, [value])
    XCTAssertEqual(try sandbox.getValue("ONE_LF"), Array(value.utf8))
  }

  func testAddDropsATrailingCRLF() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    XCTAssertEqual(try addRaw(sandbox, "CRLF", Array((value + "\r\n").utf8)).status, 0)
    XCTAssertEqual(try sandbox.getValue("CRLF"), Array(value.utf8))
  }

  func testAddKeepsTheSecondOfTwoTrailingNewlines() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    XCTAssertEqual(try addRaw(sandbox, "TWO_LF", Array((value + "\n\n").utf8)).status, 0)
    XCTAssertEqual(try sandbox.getValue("TWO_LF"), Array((value + "\n").utf8))
  }

  func testAddWithoutATrailingNewlineStoresTheBytesExactly() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = "  " + fakeSecret() + " ключ 🔑\ttab  "
    XCTAssertEqual(try addRaw(sandbox, "EXACT", Array(value.utf8)).status, 0)
    XCTAssertEqual(try sandbox.getValue("EXACT"), Array(value.utf8))
  }

  func testAddStoresProviderModelsAndVariables() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK(
      "MY_API", value: value,
      ["--provider", "openai", "--model", "gpt-4o", "--model", "gpt-4o-mini", "--env", "MY_OPENAI", "--env", "OTHER"])
    let shown = try sandbox.showJSON("MY_API")
    XCTAssertEqual(shown["name"] as? String, "MY_API")
    XCTAssertEqual(shown["provider"] as? String, "openai")
    XCTAssertEqual(shown["models"] as? [String], ["gpt-4o", "gpt-4o-mini"])
    XCTAssertEqual(shown["env"] as? [String], ["MY_OPENAI", "OTHER"])
    XCTAssertEqual(shown["value"] as? String, expectedMask(value))
    XCTAssertEqual(try sandbox.getValue("MY_API"), Array(value.utf8))
  }

  func testModelNamesWithPunctuationRoundTripThroughJSON() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let models = ["meta-llama/Llama-3.1-70B-Instruct", "gpt-4o@2024-08-06", "llama3:8b", "model+v2", "a_b.c"]
    try sandbox.addOK("PUNCT", value: fakeSecret(), models.flatMap { ["--model", $0] })
    XCTAssertEqual(try sandbox.showJSON("PUNCT")["models"] as? [String], models)
    XCTAssertEqual(try sandbox.listJSON()["PUNCT"]?["models"] as? [String], models)
  }

  func testAddWithoutProviderLeavesItUnset() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("BARE", value: fakeSecret())
    let shown = try sandbox.showJSON("BARE")
    XCTAssertTrue(shown["provider"] is NSNull, "\(String(describing: shown["provider"]))")
    XCTAssertEqual(shown["models"] as? [String], [])
    XCTAssertEqual(shown["env"] as? [String], [])
  }

  func testAddNormalisesTheProviderToLowercase() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("CASED", value: fakeSecret(), ["--provider", "OpenAI"])
    XCTAssertEqual(try sandbox.showJSON("CASED")["provider"] as? String, "openai")
  }

  func testAddingAnExistingNameExits4AndKeepsTheOldValue() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let first = fakeSecret()
    let second = fakeSecret()
    try sandbox.addOK("DUP", value: first, ["--provider", "openai"])
    let result = try sandbox.assertUnchanged { try sandbox.add("DUP", value: second, ["--provider", "anthropic"]) }
    assertFailure(result, 4, mentioning: ["DUP"])
    assertNoLeak(result, [first, second])
    XCTAssertEqual(try sandbox.getValue("DUP"), Array(first.utf8))
    XCTAssertEqual(try sandbox.showJSON("DUP")["provider"] as? String, "openai")
  }

  func testAddWithoutAVaultExits3AndCreatesNone() throws {
    let sandbox = try VaultSandbox()
    let value = fakeSecret()
    let result = try sandbox.add("NO_VAULT", value: value)
    assertFailure(result, 3)
    XCTAssertTrue(hintLine(result)?.contains("vault init") ?? false, result.stderrText)
    assertNoLeak(result, [value])
    XCTAssertFalse(fileExists(sandbox.vaultPath))
  }

  func testAddWithoutAPassphraseSourceExits64() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["add", "NO_PASS"], stdin: Array(value.utf8), environment: noPassphrase)
    }
    assertFailure(result, 64)
    assertNoLeak(result, [value])
  }

  func testAddKeepsTheFileMode0600() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MODE_CHECK", value: fakeSecret())
    XCTAssertEqual(fileMode(sandbox.vaultPath), 0o600)
  }
}

final class CommandGetTests: XCTestCase {
  func testGetPrintsTheRawValueWithoutANewline() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("RAW", value: value)
    let result = try sandbox.run(["get", "RAW"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdout, Array(value.utf8))
    assertNoLeak(result, [value], allowStdout: true)
  }

  func testGetPicksTheNamedKeyAmongSeveral() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let values = (0..<3).map { _ in fakeSecret() }
    for (index, value) in values.enumerated() { try sandbox.addOK("KEY_\(index)", value: value) }
    for (index, value) in values.enumerated() {
      XCTAssertEqual(try sandbox.getValue("KEY_\(index)"), Array(value.utf8))
    }
  }

  func testGetOfAnUnknownNameExits3WithoutAPassphrase() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("KNOWN", value: fakeSecret())
    let result = try sandbox.run(["get", "UNKNOWN"], environment: noPassphrase)
    assertFailure(result, 3, mentioning: ["UNKNOWN"])
    XCTAssertNotNil(hintLine(result))
  }

  func testGetNamesAreCaseSensitive() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: fakeSecret())
    assertFailure(try sandbox.run(["get", "my_api"]), 3)
  }

  func testGetUsesVaultPassphraseWhenThereIsNoPassphraseFile() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("FROM_VARIABLE", value: value)
    let result = try sandbox.run(
      ["get", "FROM_VARIABLE"],
      environment: ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": VaultSandbox.passphrase])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdout, Array(value.utf8))
  }

  func testThePassphraseFileWinsOverTheVariable() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("BOTH", value: value)
    let result = try sandbox.run(["get", "BOTH"], environment: ["VAULT_PASSPHRASE": "not the passphrase"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdout, Array(value.utf8))
  }

  func testGetWithAWrongPassphraseExits5() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("LOCKED", value: value)
    let result = try sandbox.run(
      ["get", "LOCKED"], environment: ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": "wrong horse"])
    assertFailure(result, 5)
    assertNoLeak(result, [value])
  }

  func testGetWithNoPassphraseSourceAndNoTerminalExits64() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("NEEDS_PASS", value: value)
    let result = try sandbox.run(["get", "NEEDS_PASS"], environment: noPassphrase)
    assertFailure(result, 64)
    XCTAssertNotNil(hintLine(result))
    assertNoLeak(result, [value])
  }

  func testGetWithoutAVaultExits3() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["get", "ANY"])
    assertFailure(result, 3)
    XCTAssertTrue(hintLine(result)?.contains("vault init") ?? false, result.stderrText)
  }
}

/// list, search and show: metadata and masked values, no passphrase needed.
final class CommandListingTests: XCTestCase {
  private struct Seed {
    var name: String
    var value: String
    var options: [String]
  }

  private func seeded(_ seeds: [Seed]) throws -> VaultSandbox {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    for seed in seeds { try sandbox.addOK(seed.name, value: seed.value, seed.options) }
    return sandbox
  }

  private let openai = Seed(
    name: "OPENAI_MAIN", value: fakeSecret("sk-proj-"),
    options: ["--provider", "openai", "--model", "gpt-4o", "--model", "gpt-4o-mini"])
  private let anthropic = Seed(
    name: "WORK_KEY", value: fakeSecret("sk-ant-"), options: ["--provider", "anthropic", "--model", "claude-sonnet-4"])
  private let team = Seed(name: "TEAM_TOKEN", value: fakeSecret("tok-"), options: ["--model", "Llama-3-70B"])

  func testListShowsEveryKeyMaskedWithoutAPassphrase() throws {
    let seeds = [openai, anthropic, team]
    let sandbox = try seeded(seeds)
    let result = try sandbox.run(["list"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText)
    let lines = result.stdoutText.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 4, result.stdoutText)
    XCTAssertTrue(lines.first?.hasPrefix("NAME") ?? false, result.stdoutText)
    for seed in seeds {
      guard let row = lines.first(where: { $0.hasPrefix(seed.name + " ") }) else {
        XCTFail("no row for \(seed.name): \(result.stdoutText)")
        continue
      }
      XCTAssertTrue(row.contains(expectedMask(seed.value)), row)
    }
    let openaiRow = lines.first { $0.hasPrefix("OPENAI_MAIN ") } ?? ""
    XCTAssertTrue(openaiRow.contains("openai"), openaiRow)
    XCTAssertTrue(openaiRow.contains("gpt-4o,gpt-4o-mini"), openaiRow)
    assertNoLeak(result, seeds.map(\.value))
    XCTAssertFalse(result.stdout.contains(0x1B), "colour codes when stdout is not a terminal")
  }

  func testListPrintsNoColourEvenWithoutNoColorWhenNotATerminal() throws {
    let sandbox = try seeded([openai])
    let result = try sandbox.run(["list"], environment: ["NO_COLOR": nil, "VAULT_PASSPHRASE_FILE": nil])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(result.stdoutText.contains("OPENAI_MAIN"))
    XCTAssertFalse(result.stdout.contains(0x1B), result.stdoutText)
  }

  func testListJSONCarriesTheMetadataAndTheMaskOnly() throws {
    let seeds = [openai, anthropic, team]
    let sandbox = try seeded(seeds)
    let result = try sandbox.run(["list", "--json"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, seeds.map(\.value))
    let byName = try sandbox.listJSON()
    XCTAssertEqual(Set(byName.keys), ["OPENAI_MAIN", "WORK_KEY", "TEAM_TOKEN"])
    XCTAssertEqual(byName["OPENAI_MAIN"]?["value"] as? String, expectedMask(openai.value))
    XCTAssertEqual(byName["OPENAI_MAIN"]?["provider"] as? String, "openai")
    XCTAssertEqual(byName["OPENAI_MAIN"]?["models"] as? [String], ["gpt-4o", "gpt-4o-mini"])
    XCTAssertEqual(byName["WORK_KEY"]?["provider"] as? String, "anthropic")
    XCTAssertEqual(byName["WORK_KEY"]?["models"] as? [String], ["claude-sonnet-4"])
    XCTAssertTrue(byName["TEAM_TOKEN"]?["provider"] is NSNull)
    XCTAssertEqual(byName["TEAM_TOKEN"]?["models"] as? [String], ["Llama-3-70B"])
    XCTAssertEqual(byName["TEAM_TOKEN"]?["value"] as? String, expectedMask(team.value))
    for entry in byName.values {
      let formatter = ISO8601DateFormatter()
      XCTAssertNotNil((entry["created"] as? String).flatMap(formatter.date(from:)), "\(entry)")
      XCTAssertNotNil((entry["updated"] as? String).flatMap(formatter.date(from:)), "\(entry)")
    }
  }

  func testListOfAnEmptyVault() throws {
    let sandbox = try seeded([])
    let json = try sandbox.run(["list", "--json"], environment: noPassphrase)
    XCTAssertEqual(json.status, 0, json.stderrText)
    XCTAssertEqual(try jsonArray(json.stdout).count, 0)
    let text = try sandbox.run(["list"], environment: noPassphrase)
    XCTAssertEqual(text.status, 0, text.stderrText)
    XCTAssertFalse(text.stdoutText.contains("OPENAI"))
  }

  func testMaskingRules() throws {
    let twelve = "sk-test-" + String(fakeSecret("", hexBytes: 2))  // 12 characters
    let thirteen = "sk-test-" + String(fakeSecret("", hexBytes: 2)) + "z"  // 13 characters
    let long = fakeSecret()
    let unicode = "αβγ-" + fakeSecret("", hexBytes: 8) + "-δεζ"
    let single = "%"
    XCTAssertEqual(twelve.count, 12)
    XCTAssertEqual(thirteen.count, 13)
    let sandbox = try seeded([
      Seed(name: "TWELVE", value: twelve, options: []), Seed(name: "THIRTEEN", value: thirteen, options: []),
      Seed(name: "LONG", value: long, options: []), Seed(name: "UNICODE", value: unicode, options: []),
      Seed(name: "SINGLE", value: single, options: []),
    ])
    let byName = try sandbox.listJSON()
    XCTAssertEqual(byName["TWELVE"]?["value"] as? String, "********")
    XCTAssertEqual(byName["SINGLE"]?["value"] as? String, "********")
    XCTAssertEqual(byName["THIRTEEN"]?["value"] as? String, "sk-\u{2026}" + String(thirteen.suffix(3)))
    XCTAssertEqual(
      byName["LONG"]?["value"] as? String, String(long.prefix(3)) + "\u{2026}" + String(long.suffix(3)))
    XCTAssertEqual(byName["UNICODE"]?["value"] as? String, "αβγ\u{2026}δεζ")
    let table = try sandbox.run(["list"], environment: noPassphrase)
    let twelveRow = table.stdoutText.split(separator: "\n").first { $0.hasPrefix("TWELVE ") } ?? ""
    XCTAssertTrue(twelveRow.contains("********"), String(twelveRow))
    XCTAssertTrue(table.stdoutText.contains("αβγ\u{2026}δεζ"), table.stdoutText)
    for command in [
      ["list"], ["list", "--json"], ["show", "TWELVE"], ["show", "THIRTEEN", "--json"], ["search", "T"],
    ] {
      let result = try sandbox.run(command, environment: noPassphrase)
      XCTAssertEqual(result.status, 0, "\(command): \(result.stderrText)")
      assertNoLeak(result, [twelve, thirteen, long, unicode])
    }
  }

  func testMaskedValuesNeverPrintRawControlCharacters() throws {
    // A value may legitimately end in a newline (two piped, one kept) or hold other control
    // characters; its masked form must not break the one-line-per-key table or reach the
    // terminal raw.
    let sandbox = try seeded([])
    let newlineEnd = try sandbox.run(["add", "NEWLINE_END"], stdin: Array((fakeSecret() + "\n\n").utf8))
    XCTAssertEqual(newlineEnd.status, 0, newlineEnd.stderrText)
    let escapeEnd = try sandbox.run(["add", "ESCAPE_END"], stdin: Array((fakeSecret() + "\u{1B}c\n").utf8))
    XCTAssertEqual(escapeEnd.status, 0, escapeEnd.stderrText)
    let tabStart = try sandbox.run(["add", "TAB_START"], stdin: Array(("\t\r" + fakeSecret() + "\n").utf8))
    XCTAssertEqual(tabStart.status, 0, tabStart.stderrText)

    let list = try sandbox.run(["list"], environment: noPassphrase)
    XCTAssertEqual(list.status, 0, list.stderrText)
    XCTAssertEqual(list.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).count, 5, list.stdoutText)
    XCTAssertEqual(list.stdout.filter { $0 < 0x20 && $0 != 0x0A }, [], "control characters in list output")
    for name in ["NEWLINE_END", "ESCAPE_END", "TAB_START"] {
      let show = try sandbox.run(["show", name], environment: noPassphrase)
      XCTAssertEqual(show.status, 0, show.stderrText)
      let lines = show.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
      XCTAssertTrue(lines.allSatisfy { $0.contains(":") }, "\(name): show output broken: \(show.stdoutText)")
      XCTAssertEqual(show.stdout.filter { $0 < 0x20 && $0 != 0x0A }, [], "\(name): control characters in show")
    }
  }

  func testSearchIsCaseInsensitiveOnNameProviderAndModel() throws {
    let sandbox = try seeded([openai, anthropic, team])
    let cases: [(String, Set<String>)] = [
      ("main", ["OPENAI_MAIN"]),  // name, lower case
      ("OpenAI", ["OPENAI_MAIN"]),  // name and provider
      ("ANTHROPIC", ["WORK_KEY"]),  // provider only
      ("SONNET", ["WORK_KEY"]),  // model only
      ("llama-3", ["TEAM_TOKEN"]),  // model, different case
      ("GPT-4O-MINI", ["OPENAI_MAIN"]),
      ("_", ["OPENAI_MAIN", "WORK_KEY", "TEAM_TOKEN"]),
      ("nothing-like-this", []),
    ]
    for (term, expected) in cases {
      let result = try sandbox.run(["search", term, "--json"], environment: noPassphrase)
      XCTAssertEqual(result.status, 0, "search \(term): \(result.stderrText)")
      let names = Set(try jsonArray(result.stdout).compactMap { $0["name"] as? String })
      XCTAssertEqual(names, expected, "search \(term)")
    }
  }

  func testSearchTextOutputListsTheMatches() throws {
    let sandbox = try seeded([openai, anthropic])
    let result = try sandbox.run(["search", "openai"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(result.stdoutText.contains("OPENAI_MAIN"), result.stdoutText)
    XCTAssertTrue(result.stdoutText.contains(expectedMask(openai.value)), result.stdoutText)
    XCTAssertFalse(result.stdoutText.contains("WORK_KEY"), result.stdoutText)
    assertNoLeak(result, [openai.value, anthropic.value])
  }

  func testSearchDoesNotMatchInsideSecretValues() throws {
    let sandbox = try seeded([openai])
    let middle = String(openai.value.dropFirst(10).prefix(8))
    let result = try sandbox.run(["search", middle, "--json"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(try jsonArray(result.stdout).count, 0, "search matched a secret value")
  }

  func testShowPrintsTheDetailsMasked() throws {
    let sandbox = try seeded([openai])
    let result = try sandbox.run(["show", "OPENAI_MAIN"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText)
    var fields: [String: String] = [:]
    for line in result.stdoutText.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    XCTAssertEqual(fields["Name"], "OPENAI_MAIN")
    XCTAssertEqual(fields["Value"], expectedMask(openai.value))
    XCTAssertEqual(fields["Provider"], "openai")
    XCTAssertEqual(fields["Models"], "gpt-4o, gpt-4o-mini")
    assertNoLeak(result, [openai.value])
  }

  func testShowJSONMatchesTheKey() throws {
    let sandbox = try seeded([openai, team])
    let shown = try sandbox.showJSON("TEAM_TOKEN")
    XCTAssertEqual(shown["name"] as? String, "TEAM_TOKEN")
    XCTAssertEqual(shown["value"] as? String, expectedMask(team.value))
    XCTAssertTrue(shown["provider"] is NSNull)
    XCTAssertEqual(shown["models"] as? [String], ["Llama-3-70B"])
    XCTAssertEqual(shown["env"] as? [String], [])
    XCTAssertNotNil(shown["created"] as? String)
    XCTAssertNotNil(shown["updated"] as? String)
  }

  func testShowOfAnUnknownNameExits3() throws {
    let sandbox = try seeded([openai])
    for arguments in [["show", "MISSING"], ["show", "MISSING", "--json"]] {
      let result = try sandbox.run(arguments, environment: noPassphrase)
      assertFailure(result, 3, mentioning: ["MISSING"])
    }
  }

  func testListingCommandsWithoutAVaultExit3() throws {
    let sandbox = try VaultSandbox()
    for arguments in [["list"], ["list", "--json"], ["search", "x"], ["show", "X"]] {
      let result = try sandbox.run(arguments, environment: noPassphrase)
      assertFailure(result, 3)
      XCTAssertTrue(hintLine(result)?.contains("vault init") ?? false, "\(arguments): \(result.stderrText)")
    }
  }
}
