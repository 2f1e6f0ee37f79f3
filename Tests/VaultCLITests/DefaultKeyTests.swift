import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 10, point 1: one default key per provider. The first key added for a provider is its
/// default; a plain run puts it under the provider's variables and the provider's other keys
/// under their own names; `vault edit NAME --default` moves it; `list` and `show` mark it; the
/// gateway's choice and an agent key's run follow the same rule inside the token's scope.
final class DefaultKeyTests: XCTestCase {
  private func fixture() throws -> RunFixture {
    var fixture = try RunFixture()
    try fixture.add("OPENAI_SECOND", ["--provider", "openai"])
    return fixture
  }

  func testASecondKeyOfAProviderNoLongerBreaksAPlainRun() throws {
    let fixture = try fixture()
    var expected = RunKit.standardNames
    expected["OPENAI_SECOND"] = "OPENAI_SECOND"
    let (_, child) = try fixture.runEnvironment([])
    fixture.assertCarriers(child, expected, "a plain run with two openai keys")
    let dryRun = try fixture.sandbox.run(["run", "--dry-run", "--", "/bin/true"])
    XCTAssertEqual(dryRun.status, 0, dryRun.stderrText)
    XCTAssertTrue(dryRun.stdoutText.contains("not openai's default"), dryRun.stdoutText)
    // env follows the same plan.
    let env = try fixture.sandbox.run(["env", "--format", "json"])
    XCTAssertEqual(env.status, 0, env.stderrText)
    let object = try JSONSerialization.jsonObject(with: Data(env.stdout)) as? [String: String]
    assertSameSecret(object?["OPENAI_API_KEY"], fixture.values["OPENAI_MAIN"], "env: OPENAI_API_KEY")
    assertSameSecret(object?["OPENAI_SECOND"], fixture.values["OPENAI_SECOND"], "env: OPENAI_SECOND")
  }

  func testEditDefaultMovesTheProviderVariablesAndListAndShowMarkIt() throws {
    let fixture = try fixture()
    let sandbox = fixture.sandbox
    let list = try sandbox.run(["list"])
    XCTAssertTrue(list.stdoutText.contains("openai (default)"), list.stdoutText)
    XCTAssertEqual(list.stdoutText.components(separatedBy: "(default)").count, 2, list.stdoutText)
    let mainLine = list.stdoutText.split(separator: "\n").first { $0.hasPrefix("OPENAI_MAIN ") }
    XCTAssertTrue(mainLine?.contains("(default)") ?? false, list.stdoutText)

    let edited = try sandbox.run(["edit", "OPENAI_SECOND", "--default"])
    XCTAssertEqual(edited.status, 0, edited.stderrText)
    XCTAssertTrue(edited.stderrText.contains("OPENAI_SECOND is now openai's default key (was OPENAI_MAIN)"))
    var expected = RunKit.standardNames
    expected["OPENAI_SECOND"] = "OPENAI_SECOND"
    expected["OPENAI_API_KEY"] = "OPENAI_SECOND"
    let (_, child) = try fixture.runEnvironment([])
    fixture.assertCarriers(child, expected, "after edit --default")

    let show = try sandbox.run(["show", "OPENAI_SECOND"])
    XCTAssertTrue(show.stdoutText.contains("Default:   yes, openai's default key"), show.stdoutText)
    let other = try sandbox.run(["show", "OPENAI_MAIN"])
    XCTAssertTrue(other.stdoutText.contains("Default:   no (OPENAI_SECOND is;"), other.stdoutText)
    let json = try sandbox.run(["list", "--json"])
    let rows = try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [[String: Any]] ?? []
    let defaults = rows.filter { $0["default"] as? Bool == true }.compactMap { $0["name"] as? String }
    XCTAssertEqual(Set(defaults), ["OPENAI_SECOND", "ANTHROPIC_MAIN", "GEMINI_KEY"])

    // --model still picks a linked non-default key explicitly.
    let (_, linked) = try fixture.runEnvironment(["--model", "gpt-4o"])
    fixture.assertCarriers(linked, ["OPENAI_MAIN": "OPENAI_MAIN", "OPENAI_API_KEY": "OPENAI_MAIN"], "--model gpt-4o")
  }

  func testEditDefaultRefusesAKeyWithoutAProviderOrWithItsOwnEnvAndChangesNothing() throws {
    var fixture = try fixture()
    try fixture.add("LOOSE_KEY", [])
    let sandbox = fixture.sandbox
    let result = try sandbox.assertUnchanged { try sandbox.run(["edit", "LOOSE_KEY", "--default"]) }
    assertFailure(result, 65, mentioning: ["LOOSE_KEY", "no provider"])
    // A key with its own --env names never goes under the provider's variables.
    let custom = try sandbox.assertUnchanged { try sandbox.run(["edit", "CUSTOM_KEY", "--default"]) }
    assertFailure(custom, 65, mentioning: ["CUSTOM_KEY", "--clear-env --default"])
    let cleared = try sandbox.run(["edit", "CUSTOM_KEY", "--clear-env", "--default"])
    XCTAssertEqual(cleared.status, 0, cleared.stderrText)
    XCTAssertTrue(cleared.stderrText.contains("CUSTOM_KEY is now openai's default key (was OPENAI_MAIN)"))
  }

  func testAKeyMovedToAProviderJoinsItAsANonDefaultKey() throws {
    let fixture = try fixture()
    let sandbox = fixture.sandbox
    // OPENAI_MAIN, the default, leaves openai (OPENAI_SECOND takes over) and comes back: it
    // joins as a non-default key although it was added first.
    let away = try sandbox.run(["edit", "OPENAI_MAIN", "--provider", "mistral"])
    XCTAssertEqual(away.status, 0, away.stderrText)
    let back = try sandbox.run(["edit", "OPENAI_MAIN", "--provider", "openai"])
    XCTAssertEqual(back.status, 0, back.stderrText)
    let show = try sandbox.run(["show", "OPENAI_MAIN"])
    XCTAssertTrue(show.stdoutText.contains("Default:   no (OPENAI_SECOND is;"), show.stdoutText)
  }

  func testRealConflictsStillStopTheRunAndNameEveryWayOut() throws {
    var fixture = try fixture()
    try fixture.add("OPENAI_THIRD", ["--provider", "openai"])
    let sandbox = fixture.sandbox
    let marker = sandbox.root + "/ran"
    // Two non-default keys of one provider, picked explicitly: neither is the default.
    let both = try sandbox.run([
      "run", "--key", "OPENAI_SECOND", "--key", "OPENAI_THIRD", "--", "/usr/bin/touch", marker,
    ])
    assertFailure(
      both, 14, mentioning: ["OPENAI_API_KEY", "OPENAI_SECOND", "OPENAI_THIRD", "--key", "--default", "--env"])
    assertNoLeak(both, fixture.secrets)
    XCTAssertFalse(fileExists(marker), "the command ran despite the conflict")
    // The default among explicitly picked keys takes the variables.
    let (_, picked) = try fixture.runEnvironment(["--key", "OPENAI_MAIN", "--key", "OPENAI_THIRD"])
    fixture.assertCarriers(
      picked, ["OPENAI_MAIN": "OPENAI_MAIN", "OPENAI_API_KEY": "OPENAI_MAIN", "OPENAI_THIRD": "OPENAI_THIRD"],
      "--key default --key other")
    // Two --env claims of one variable.
    try fixture.add("ENV_ONE", ["--env", "SHARED_VARIABLE"])
    try fixture.add("ENV_TWO", ["--env", "SHARED_VARIABLE"])
    let claims = try sandbox.run(["run", "--", "/usr/bin/touch", marker])
    assertFailure(
      claims, 14, mentioning: ["SHARED_VARIABLE", "ENV_ONE", "ENV_TWO", "--key", "vault edit ENV_TWO --env"])
    XCTAssertFalse(fileExists(marker), "the command ran despite the conflict")
  }

  func testAnAgentKeyGetsTheDefaultInsideItsScope() throws {
    var fixture = try fixture()
    try fixture.add("OPENAI_THIRD", ["--provider", "openai"])
    // The vault's default is in scope: it takes the variables.
    let all = try fixture.agentToken("everything", ["--provider", "openai"])
    let (_, child) = try fixture.runEnvironment([], environment: RunFixture.agentEnvironment(all))
    fixture.assertCarriers(
      child,
      [
        "OPENAI_MAIN": "OPENAI_MAIN", "OPENAI_API_KEY": "OPENAI_MAIN", "OPENAI_SECOND": "OPENAI_SECOND",
        "OPENAI_THIRD": "OPENAI_THIRD", "CUSTOM_KEY": "CUSTOM_KEY", "MY_VAR": "CUSTOM_KEY",
      ], "agent key scoped to openai")
    // The vault's default is outside the scope: the first key of the provider inside it.
    let some = try fixture.agentToken("some", ["--key", "OPENAI_THIRD", "--key", "OPENAI_SECOND"])
    let (_, scoped) = try fixture.runEnvironment([], environment: RunFixture.agentEnvironment(some))
    fixture.assertCarriers(
      scoped,
      ["OPENAI_SECOND": "OPENAI_SECOND", "OPENAI_API_KEY": "OPENAI_SECOND", "OPENAI_THIRD": "OPENAI_THIRD"],
      "agent key without the vault's default")
  }
}
