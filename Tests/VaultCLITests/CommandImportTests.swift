import Foundation
import XCTest

/// import, passwd and verify.
final class CommandImportTests: XCTestCase {
  private var sandbox: VaultSandbox!

  override func setUpWithError() throws {
    sandbox = try VaultSandbox()
    try sandbox.initVault()
  }

  override func tearDown() {
    sandbox = nil
  }

  private func writeDotEnv(_ text: String, named name: String = ".env") throws -> String {
    let path = sandbox.root + "/" + name
    try writeFile(path, Array(text.utf8), mode: 0o600)
    return path
  }

  func testImportReadsEveryFormOfADotEnvFile() throws {
    let openai = fakeSecret("sk-proj-")
    let anthropicBody = fakeSecret("sk-ant-")
    let quoted = fakeSecret("dq-")
    let inline = fakeSecret("in-")
    let hashed = fakeSecret("hash-")
    let spaced = fakeSecret("sp-")
    let escaped = fakeSecret("esc-")
    let text = """
      # API keys for the demo
      \("")
      export OPENAI_API_KEY=\(openai)
      ANTHROPIC_API_KEY='\(anthropicBody) # not a comment \\n'
         # an indented comment
      MY_DQ="\(quoted) \\"in quotes\\" end"
      MY_INLINE=\(inline) # trailing comment
      MY_HASH=\(hashed)#kept
        MY_SPACED  =  \(spaced)\("   ")
      MY_ESCAPES="\(escaped)\\tand\\\\"

      """
    let path = try writeDotEnv(text)
    // --all: most of these values are shaped like no provider's key.
    let result = try sandbox.run(["import", path, "--all"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let allValues = [openai, anthropicBody, quoted, inline, hashed, spaced, escaped]
    assertNoLeak(result, allValues)
    XCTAssertEqual(try readFile(path), Array(text.utf8), "import changed the .env file")

    let byName = try sandbox.listJSON()
    XCTAssertEqual(
      Set(byName.keys),
      ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MY_DQ", "MY_INLINE", "MY_HASH", "MY_SPACED", "MY_ESCAPES"])
    XCTAssertEqual(byName["OPENAI_API_KEY"]?["provider"] as? String, "openai")
    XCTAssertEqual(byName["ANTHROPIC_API_KEY"]?["provider"] as? String, "anthropic")
    XCTAssertTrue(byName["MY_DQ"]?["provider"] is NSNull)
    XCTAssertTrue(byName["MY_HASH"]?["provider"] is NSNull)

    let expected: [String: String] = [
      "OPENAI_API_KEY": openai,
      "ANTHROPIC_API_KEY": anthropicBody + " # not a comment \\n",
      "MY_DQ": quoted + " \"in quotes\" end",
      "MY_INLINE": inline,
      "MY_HASH": hashed + "#kept",
      "MY_SPACED": spaced,
      "MY_ESCAPES": escaped + "\tand\\",
    ]
    for (name, value) in expected {
      XCTAssertEqual(String(decoding: try sandbox.getValue(name), as: UTF8.self), value, name)
    }
  }

  func testImportNamesTheImportedKeysAndWarnsThePlaintextRemains() throws {
    let value = fakeSecret()
    let path = try writeDotEnv("GROQ_API_KEY=\(value)\n")
    let result = try sandbox.run(["import", path])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(result.stderrText.contains("GROQ_API_KEY"), result.stderrText)
    XCTAssertTrue(result.stderrText.contains(path), result.stderrText)
    assertNoLeak(result, [value])
    XCTAssertEqual(try sandbox.showJSON("GROQ_API_KEY")["provider"] as? String, "groq")
  }

  func testALargeImportNamesTheFirstTwentyKeysAndCountsTheRest() throws {
    let names = (0..<25).map { String(format: "BULK_%02d_KEY", $0) }
    let path = try writeDotEnv(names.map { "\($0)=\(fakeSecret())\n" }.joined())
    let result = try sandbox.run(["import", path])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let summary = result.stderrText.split(separator: "\n").first { $0.hasPrefix("vault: imported") } ?? ""
    XCTAssertEqual(summary, "vault: imported 25 key(s): " + names.prefix(20).joined(separator: ", ") + " and 5 more")
  }

  func testImportWithCRLFLineEndings() throws {
    let first = fakeSecret()
    let second = fakeSecret()
    let path = try writeDotEnv("FIRST_KEY=\(first)\r\n# note\r\nSECOND_KEY=\"\(second)\"\r\n")
    let result = try sandbox.run(["import", path])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(Set(try sandbox.listJSON().keys), ["FIRST_KEY", "SECOND_KEY"])
    XCTAssertEqual(String(decoding: try sandbox.getValue("FIRST_KEY"), as: UTF8.self), first)
    let stored = try sandbox.run(["get", "SECOND_KEY"])
    XCTAssertEqual(stored.status, 0, stored.stderrText)
    XCTAssertEqual(stored.stdoutText, second)
  }

  func testImportOfAOneLineWindowsFileDropsTheCRLF() throws {
    let value = fakeSecret()
    let path = try writeDotEnv("OPENAI_API_KEY=\(value)\r\n")
    let result = try sandbox.run(["import", path])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let stored = try sandbox.run(["get", "OPENAI_API_KEY"])
    XCTAssertEqual(stored.status, 0, stored.stderrText)
    XCTAssertEqual(stored.stdoutText, value, "the stored value keeps the line ending")
  }

  func testImportWithAnInvalidProviderExits65() throws {
    let path = try writeDotEnv("SOME_KEY=\(fakeSecret())\n")
    let result = try sandbox.assertUnchanged { try sandbox.run(["import", path, "--provider", "not a provider"]) }
    assertFailure(result, 65)
  }

  func testImportFromStandardInput() throws {
    let value = fakeSecret()
    let result = try sandbox.run(["import", "-"], stdin: Array("export FROM_STDIN=\(value)\n".utf8))
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, [value])
    XCTAssertEqual(try sandbox.getValue("FROM_STDIN"), Array(value.utf8))
  }

  func testImportWithAProviderLinksEveryKey() throws {
    let path = try writeDotEnv("KEY_ONE=\(fakeSecret())\nKEY_TWO=\(fakeSecret())\n")
    XCTAssertEqual(try sandbox.run(["import", path, "--provider", "Mistral"]).status, 0)
    let byName = try sandbox.listJSON()
    XCTAssertEqual(byName["KEY_ONE"]?["provider"] as? String, "mistral")
    XCTAssertEqual(byName["KEY_TWO"]?["provider"] as? String, "mistral")
  }

  func testImportOfAnExistingNameExits4AndImportsNothing() throws {
    let old = fakeSecret()
    try sandbox.addOK("MY_EXISTING", value: old)
    let fresh = fakeSecret()
    let replaced = fakeSecret()
    let path = try writeDotEnv("NEW_ONE=\(fresh)\nMY_EXISTING=\(replaced)\nNEW_TWO=\(fakeSecret())\n")
    let result = try sandbox.assertUnchanged { try sandbox.run(["import", path]) }
    assertFailure(result, 4, mentioning: ["MY_EXISTING"])
    assertNoLeak(result, [old, fresh, replaced])
    XCTAssertEqual(Set(try sandbox.listJSON().keys), ["MY_EXISTING"])
    XCTAssertEqual(try sandbox.getValue("MY_EXISTING"), Array(old.utf8))
  }

  func testImportSkipExistingKeepsTheOldValueAndImportsTheRest() throws {
    let old = fakeSecret()
    try sandbox.addOK("MY_EXISTING", value: old)
    let fresh = fakeSecret()
    let replaced = fakeSecret()
    let path = try writeDotEnv("MY_EXISTING=\(replaced)\nNEW_ONE=\(fresh)\n")
    let result = try sandbox.run(["import", path, "--skip-existing"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertTrue(result.stderrText.contains("MY_EXISTING"), result.stderrText)
    assertNoLeak(result, [old, fresh, replaced])
    XCTAssertEqual(Set(try sandbox.listJSON().keys), ["MY_EXISTING", "NEW_ONE"])
    XCTAssertEqual(try sandbox.getValue("MY_EXISTING"), Array(old.utf8))
    XCTAssertEqual(try sandbox.getValue("NEW_ONE"), Array(fresh.utf8))
  }

  func testImportOfAnInvalidLineNamesTheLineNotTheValue() throws {
    let good = fakeSecret()
    let bad = fakeSecret()
    let invalidLines = [
      "THIS IS NOT \(bad)",  // no '='
      "MY KEY=\(bad)",  // space in the name
      "1ST_KEY=\(bad)",  // leading digit
      "UNCLOSED=\"\(bad)",  // quote not closed
      "TRAILING='\(bad)' extra",  // text after the closing quote
    ]
    for invalid in invalidLines {
      let path = try writeDotEnv("# header\nGOOD_KEY=\(good)\n\n\(invalid)\nLATER_KEY=\(good)\n")
      let result = try sandbox.assertUnchanged { try sandbox.run(["import", path]) }
      assertFailure(result, 65, mentioning: ["line 4"])
      assertNoLeak(result, [good, bad])
      XCTAssertEqual(try sandbox.listJSON().count, 0, invalid)
    }
  }

  func testImportOfAnEmptyValueNamesTheLine() throws {
    let good = fakeSecret()
    let path = try writeDotEnv("GOOD_KEY=\(good)\nEMPTY_KEY=\n")
    let result = try sandbox.assertUnchanged { try sandbox.run(["import", path]) }
    assertFailure(result, 65, mentioning: ["line 2"])
    assertNoLeak(result, [good])
    XCTAssertEqual(try sandbox.listJSON().count, 0)
  }

  func testImportOfAValueWithANulByteNamesTheLine() throws {
    let good = fakeSecret()
    let before = fakeSecret()
    let path = sandbox.root + "/nul.env"
    try writeFile(path, Array("GOOD_KEY=\(good)\nNUL_KEY=\(before)".utf8) + [0] + Array("tail\n".utf8), mode: 0o600)
    let result = try sandbox.assertUnchanged { try sandbox.run(["import", path]) }
    assertFailure(result, 65, mentioning: ["line 2"])
    assertNoLeak(result, [good, before])
  }

  func testImportOfANameSetTwiceExits65() throws {
    let path = try writeDotEnv("TWICE=\(fakeSecret())\nTWICE=\(fakeSecret())\n")
    let result = try sandbox.assertUnchanged { try sandbox.run(["import", path]) }
    assertFailure(result, 65, mentioning: ["line 2"])
  }

  func testImportOfAReservedNameNamesTheLine() throws {
    let good = fakeSecret()
    let bad = fakeSecret()
    for reserved in ["LD_PRELOAD", "VAULT_PASSPHRASE"] {
      let path = try writeDotEnv("GOOD_KEY=\(good)\n\(reserved)=\(bad)\n")
      let result = try sandbox.assertUnchanged { try sandbox.run(["import", path]) }
      assertFailure(result, 65, mentioning: [reserved, "line 2"])
      assertNoLeak(result, [good, bad])
      XCTAssertEqual(try sandbox.listJSON().count, 0)
    }
  }

  func testImportOfAFileWithNoEntriesExits65() throws {
    let path = try writeDotEnv("# only a comment\n\n")
    let result = try sandbox.assertUnchanged { try sandbox.run(["import", path]) }
    assertFailure(result, 65)
  }

  func testImportWithoutAPassphraseExits64() throws {
    let value = fakeSecret()
    let path = try writeDotEnv("SOME_KEY=\(value)\n")
    let result = try sandbox.assertUnchanged { try sandbox.run(["import", path], environment: noPassphrase) }
    assertFailure(result, 64)
    assertNoLeak(result, [value])
  }
}

final class CommandPasswdTests: XCTestCase {
  func testPasswdChangesThePassphraseAndKeepsTheValues() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let values = ["FIRST": fakeSecret(), "SECOND": fakeSecret("sk-ant-")]
    for (name, value) in values { try sandbox.addOK(name, value: value, ["--provider", "openai"]) }
    let newPassphrase = "new " + fakeSecret("pass-")
    let newFile = sandbox.root + "/new-passphrase"
    try writeFile(newFile, Array((newPassphrase + "\n").utf8), mode: 0o600)

    let result = try sandbox.run(["passwd"], environment: ["VAULT_NEW_PASSPHRASE_FILE": newFile])
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, Array(values.values) + [newPassphrase, VaultSandbox.passphrase])

    // The old passphrase no longer opens the vault.
    assertFailure(try sandbox.run(["get", "FIRST"]), 5)
    assertFailure(try sandbox.run(["verify"]), 5)
    // The new one does, and every value is intact.
    let withNew: [String: String?] = ["VAULT_PASSPHRASE_FILE": newFile]
    for (name, value) in values {
      XCTAssertEqual(try sandbox.getValue(name, environment: withNew), Array(value.utf8), name)
    }
    let verify = try sandbox.run(["verify"], environment: withNew)
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertTrue(verify.stdoutText.hasPrefix("ok: 2 provider keys verified"), verify.stdoutText)
    XCTAssertEqual(try sandbox.showJSON("FIRST")["provider"] as? String, "openai")
    XCTAssertEqual(fileMode(sandbox.vaultPath), 0o600)
  }

  func testPasswdWithTheNewPassphraseInTheVariable() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("ONLY", value: value)
    let newPassphrase = fakeSecret("pass-")
    let result = try sandbox.run(["passwd"], environment: ["VAULT_NEW_PASSPHRASE": newPassphrase])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let withNew: [String: String?] = ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": newPassphrase]
    XCTAssertEqual(try sandbox.getValue("ONLY", environment: withNew), Array(value.utf8))
  }

  func testPasswdWithoutANewPassphraseSourceExits64() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("ONLY", value: fakeSecret())
    let result = try sandbox.assertUnchanged { try sandbox.run(["passwd"]) }
    assertFailure(result, 64)
  }

  func testPasswdWithAnEmptyNewPassphraseExits65() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let empty = sandbox.root + "/empty"
    try writeFile(empty, [], mode: 0o600)
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["passwd"], environment: ["VAULT_NEW_PASSPHRASE_FILE": empty])
    }
    assertFailure(result, 65)
  }

  func testPasswdWithTheWrongCurrentPassphraseExits5() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let newFile = sandbox.root + "/new-passphrase"
    try writeFile(newFile, Array("another one\n".utf8), mode: 0o600)
    let result = try sandbox.run(
      ["passwd"],
      environment: ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": "wrong", "VAULT_NEW_PASSPHRASE_FILE": newFile])
    assertFailure(result, 5)
    // The old passphrase still works.
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
  }

  /// The range of a release build: 14 to 20, with no test variable lowering the floor.
  func testPasswdRejectsAnOutOfRangeCost() throws {
    let sandbox = try VaultSandbox(productionFloor: true)
    try sandbox.initVault()
    let newFile = sandbox.root + "/new-passphrase"
    try writeFile(newFile, Array("another one\n".utf8), mode: 0o600)
    for cost in ["13", "10", "21", "x"] {
      let result = try sandbox.assertUnchanged {
        try sandbox.run(["passwd", "--scrypt-log-n", cost], environment: ["VAULT_NEW_PASSPHRASE_FILE": newFile])
      }
      assertFailure(result, 65, mentioning: ["--scrypt-log-n must be 14 to 20"])
    }
  }
}

final class CommandVerifyTests: XCTestCase {
  func testVerifyReportsTheCount() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("ONE_KEY", value: fakeSecret())
    let one = try sandbox.run(["verify"])
    XCTAssertEqual(one.status, 0, one.stderrText)
    XCTAssertTrue(one.stdoutText.hasPrefix("ok: 1 provider key verified"), one.stdoutText)
    try sandbox.addOK("TWO_KEY", value: fakeSecret())
    try sandbox.addOK("THREE_KEY", value: fakeSecret())
    let three = try sandbox.run(["verify"])
    XCTAssertEqual(three.status, 0, three.stderrText)
    XCTAssertTrue(three.stdoutText.hasPrefix("ok: 3 provider keys verified"), three.stdoutText)
  }

  func testVerifyDoesNotChangeTheFile() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("ONE_KEY", value: value)
    let result = try sandbox.assertUnchanged { try sandbox.run(["verify"]) }
    XCTAssertEqual(result.status, 0)
    assertNoLeak(result, [value])
  }

  func testVerifyWithoutAPassphraseExits64() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    assertFailure(try sandbox.run(["verify"], environment: noPassphrase), 64)
  }

  func testVerifyWithoutAVaultExits3() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["verify"])
    assertFailure(result, 3)
    XCTAssertTrue(hintLine(result)?.contains("vault init") ?? false, result.stderrText)
  }
}
