import Foundation
import XCTest

/// edit, link, unlink and rm.
final class CommandEditTests: XCTestCase {
  private var sandbox: VaultSandbox!
  private var value = ""

  override func setUpWithError() throws {
    sandbox = try VaultSandbox()
    try sandbox.initVault()
    value = fakeSecret()
    try sandbox.addOK("MY_API", value: value, ["--provider", "openai", "--model", "gpt-4o"])
  }

  override func tearDown() {
    sandbox = nil
  }

  func testRenameMovesTheKeyAndKeepsItsValueAndLinks() throws {
    let result = try sandbox.run(["edit", "MY_API", "--name", "OPENAI_MAIN"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, [value])
    XCTAssertEqual(try sandbox.getValue("OPENAI_MAIN"), Array(value.utf8))
    assertFailure(try sandbox.run(["get", "MY_API"]), 3)
    let byName = try sandbox.listJSON()
    XCTAssertEqual(Set(byName.keys), ["OPENAI_MAIN"])
    XCTAssertEqual(byName["OPENAI_MAIN"]?["provider"] as? String, "openai")
    XCTAssertEqual(byName["OPENAI_MAIN"]?["models"] as? [String], ["gpt-4o"])
    XCTAssertEqual(byName["OPENAI_MAIN"]?["value"] as? String, expectedMask(value))
  }

  func testValueReadsANewValueFromStdin() throws {
    let newValue = fakeSecret("sk-new-")
    let result = try sandbox.run(["edit", "MY_API", "--value"], stdin: Array((newValue + "\n").utf8))
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, [value, newValue])
    XCTAssertEqual(try sandbox.getValue("MY_API"), Array(newValue.utf8))
    let shown = try sandbox.showJSON("MY_API")
    XCTAssertEqual(shown["value"] as? String, expectedMask(newValue))
    XCTAssertEqual(shown["provider"] as? String, "openai")
    XCTAssertEqual(shown["models"] as? [String], ["gpt-4o"])
  }

  func testRenameAndNewValueTogether() throws {
    let newValue = fakeSecret("sk-new-")
    let result = try sandbox.run(
      ["edit", "MY_API", "--name", "RENAMED", "--value"], stdin: Array((newValue + "\r\n").utf8))
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(try sandbox.getValue("RENAMED"), Array(newValue.utf8))
    XCTAssertEqual(Set(try sandbox.listJSON().keys), ["RENAMED"])
  }

  func testProviderChangesAndNoneClearsIt() throws {
    let changed = try sandbox.run(["edit", "MY_API", "--provider", "azure"])
    XCTAssertEqual(changed.status, 0, changed.stderrText)
    XCTAssertEqual(try sandbox.showJSON("MY_API")["provider"] as? String, "azure")
    let cleared = try sandbox.run(["edit", "MY_API", "--provider", "none"])
    XCTAssertEqual(cleared.status, 0, cleared.stderrText)
    XCTAssertTrue(try sandbox.showJSON("MY_API")["provider"] is NSNull)
    XCTAssertEqual(try sandbox.getValue("MY_API"), Array(value.utf8))
  }

  func testEnvSetsTheVariablesAndClearEnvResetsThem() throws {
    let set = try sandbox.run(["edit", "MY_API", "--env", "A_VAR", "--env", "B_VAR"])
    XCTAssertEqual(set.status, 0, set.stderrText)
    XCTAssertEqual(try sandbox.showJSON("MY_API")["env"] as? [String], ["A_VAR", "B_VAR"])
    let replaced = try sandbox.run(["edit", "MY_API", "--env", "C_VAR"])
    XCTAssertEqual(replaced.status, 0, replaced.stderrText)
    XCTAssertEqual(try sandbox.showJSON("MY_API")["env"] as? [String], ["C_VAR"])
    let cleared = try sandbox.run(["edit", "MY_API", "--clear-env"])
    XCTAssertEqual(cleared.status, 0, cleared.stderrText)
    XCTAssertEqual(try sandbox.showJSON("MY_API")["env"] as? [String], [])
  }

  func testNothingToChangeExits64() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["edit", "MY_API"]) }
    assertFailure(result, 64)
  }

  func testEnvTogetherWithClearEnvExits64() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["edit", "MY_API", "--env", "X_VAR", "--clear-env"]) }
    assertFailure(result, 64)
  }

  func testRenameOntoAnExistingNameExits4() throws {
    let other = fakeSecret()
    try sandbox.addOK("OTHER", value: other)
    let result = try sandbox.assertUnchanged { try sandbox.run(["edit", "MY_API", "--name", "OTHER"]) }
    assertFailure(result, 4, mentioning: ["OTHER"])
    assertNoLeak(result, [value, other])
    XCTAssertEqual(try sandbox.getValue("MY_API"), Array(value.utf8))
    XCTAssertEqual(try sandbox.getValue("OTHER"), Array(other.utf8))
  }

  func testRenameToAnInvalidNameExits65() throws {
    for bad in ["1ST", "BAD-NAME", "LD_PRELOAD", "VAULT_PASSPHRASE", ""] {
      let result = try sandbox.assertUnchanged { try sandbox.run(["edit", "MY_API", "--name", bad]) }
      assertFailure(result, 65)
    }
  }

  func testEditOfAnUnknownKeyExits3() throws {
    let newValue = fakeSecret()
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["edit", "NOPE", "--value"], stdin: Array(newValue.utf8))
    }
    assertFailure(result, 3, mentioning: ["NOPE"])
    assertNoLeak(result, [newValue])
  }

  func testEditValueWithAnEmptyValueExits65() throws {
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["edit", "MY_API", "--value"], stdin: Array("\n".utf8))
    }
    assertFailure(result, 65)
    XCTAssertEqual(try sandbox.getValue("MY_API"), Array(value.utf8))
  }

  func testEditWithALoaderVariableExits65() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["edit", "MY_API", "--env", "LD_PRELOAD"]) }
    assertFailure(result, 65)
  }

  func testEditWithAnInvalidProviderExits65() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["edit", "MY_API", "--provider", "open ai"]) }
    assertFailure(result, 65)
  }

  func testEditWithoutAPassphraseExits64() throws {
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["edit", "MY_API", "--provider", "azure"], environment: noPassphrase)
    }
    assertFailure(result, 64)
  }
}

final class CommandLinkTests: XCTestCase {
  private var sandbox: VaultSandbox!
  private var value = ""

  override func setUpWithError() throws {
    sandbox = try VaultSandbox()
    try sandbox.initVault()
    value = fakeSecret()
    try sandbox.addOK("OPENAI_MAIN", value: value, ["--provider", "openai", "--model", "gpt-4o"])
  }

  override func tearDown() {
    sandbox = nil
  }

  func testLinkAddsModelsAndVariablesOnce() throws {
    let linked = try sandbox.run(["link", "OPENAI_MAIN", "--model", "o3", "--model", "o4-mini", "--env", "MY_KEY"])
    XCTAssertEqual(linked.status, 0, linked.stderrText)
    assertNoLeak(linked, [value])
    var shown = try sandbox.showJSON("OPENAI_MAIN")
    XCTAssertEqual(shown["models"] as? [String], ["gpt-4o", "o3", "o4-mini"])
    XCTAssertEqual(shown["env"] as? [String], ["MY_KEY"])
    let again = try sandbox.run(["link", "OPENAI_MAIN", "--model", "o3"])
    XCTAssertEqual(again.status, 0, again.stderrText)
    shown = try sandbox.showJSON("OPENAI_MAIN")
    XCTAssertEqual(shown["models"] as? [String], ["gpt-4o", "o3", "o4-mini"])
    XCTAssertEqual(try sandbox.getValue("OPENAI_MAIN"), Array(value.utf8))
  }

  func testUnlinkRemovesModelsAndVariables() throws {
    XCTAssertEqual(try sandbox.run(["link", "OPENAI_MAIN", "--model", "o3", "--env", "MY_KEY"]).status, 0)
    let unlinked = try sandbox.run(["unlink", "OPENAI_MAIN", "--model", "o3", "--env", "MY_KEY"])
    XCTAssertEqual(unlinked.status, 0, unlinked.stderrText)
    let shown = try sandbox.showJSON("OPENAI_MAIN")
    XCTAssertEqual(shown["models"] as? [String], ["gpt-4o"])
    XCTAssertEqual(shown["env"] as? [String], [])
    XCTAssertEqual(try sandbox.getValue("OPENAI_MAIN"), Array(value.utf8))
  }

  func testUnlinkingAModelThatIsNotLinkedExits65() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["unlink", "OPENAI_MAIN", "--model", "o3"]) }
    assertFailure(result, 65)
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["models"] as? [String], ["gpt-4o"])
  }

  func testUnlinkingALinkedAndAnUnlinkedModelChangesNothing() throws {
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["unlink", "OPENAI_MAIN", "--model", "gpt-4o", "--model", "o3"])
    }
    assertFailure(result, 65)
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["models"] as? [String], ["gpt-4o"])
  }

  func testUnlinkingAVariableThatIsNotLinkedExits65() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["unlink", "OPENAI_MAIN", "--env", "NOT_LINKED"]) }
    assertFailure(result, 65)
  }

  func testLinkToAnUnknownKeyExits3() throws {
    for command in ["link", "unlink"] {
      let result = try sandbox.assertUnchanged { try sandbox.run([command, "NOPE", "--model", "o3"]) }
      assertFailure(result, 3, mentioning: ["NOPE"])
    }
  }

  func testLinkWithNothingToLinkExits64() throws {
    for command in ["link", "unlink"] {
      let result = try sandbox.assertUnchanged { try sandbox.run([command, "OPENAI_MAIN"]) }
      assertFailure(result, 64)
    }
  }

  func testLinkRejectsInvalidModelsAndVariables() throws {
    for options in [
      ["--model", "gpt 4o"], ["--model", "-o3"], ["--model", ""], ["--env", "PATH"], ["--env", "9LIVES"],
    ] {
      let result = try sandbox.assertUnchanged { try sandbox.run(["link", "OPENAI_MAIN"] + options) }
      assertFailure(result, 65)
    }
  }
}

final class CommandRemoveTests: XCTestCase {
  private var sandbox: VaultSandbox!
  private var value = ""
  private var other = ""

  override func setUpWithError() throws {
    sandbox = try VaultSandbox()
    try sandbox.initVault()
    value = fakeSecret()
    other = fakeSecret()
    try sandbox.addOK("OPENAI_MAIN", value: value)
    try sandbox.addOK("KEEPER", value: other)
  }

  override func tearDown() {
    sandbox = nil
  }

  func testRemoveWithoutYesAndWithoutATerminalExits10() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["rm", "OPENAI_MAIN"]) }
    assertFailure(result, 10, mentioning: ["OPENAI_MAIN"])
    XCTAssertTrue(hintLine(result)?.contains("--yes") ?? false, result.stderrText)
    assertNoLeak(result, [value])
    XCTAssertEqual(try sandbox.getValue("OPENAI_MAIN"), Array(value.utf8))
  }

  func testRemoveWithoutYesExits10EvenWithoutAPassphrase() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["rm", "OPENAI_MAIN"], environment: noPassphrase) }
    assertFailure(result, 10)
  }

  func testRemoveWithYesDeletesOnlyThatKey() throws {
    let result = try sandbox.run(["rm", "OPENAI_MAIN", "--yes"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, [value, other])
    assertFailure(try sandbox.run(["get", "OPENAI_MAIN"]), 3)
    XCTAssertEqual(Set(try sandbox.listJSON().keys), ["KEEPER"])
    XCTAssertEqual(try sandbox.getValue("KEEPER"), Array(other.utf8))
  }

  func testRemoveWithShortYes() throws {
    let result = try sandbox.run(["rm", "-y", "OPENAI_MAIN"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(Set(try sandbox.listJSON().keys), ["KEEPER"])
  }

  func testRemoveOfAnUnknownKeyExits3() throws {
    let result = try sandbox.assertUnchanged { try sandbox.run(["rm", "NOPE", "--yes"]) }
    assertFailure(result, 3, mentioning: ["NOPE"])
    let unconfirmed = try sandbox.assertUnchanged { try sandbox.run(["rm", "NOPE"], environment: noPassphrase) }
    assertFailure(unconfirmed, 3, mentioning: ["NOPE"])
  }

  func testRemoveWithoutAPassphraseExits64() throws {
    let result = try sandbox.assertUnchanged {
      try sandbox.run(["rm", "OPENAI_MAIN", "--yes"], environment: noPassphrase)
    }
    assertFailure(result, 64)
  }

  func testARemovedNameCanBeAddedAgain() throws {
    XCTAssertEqual(try sandbox.run(["rm", "--yes", "OPENAI_MAIN"]).status, 0)
    let fresh = fakeSecret()
    try sandbox.addOK("OPENAI_MAIN", value: fresh)
    XCTAssertEqual(try sandbox.getValue("OPENAI_MAIN"), Array(fresh.utf8))
  }
}
