import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Usage recording in `<vault>.state`: one use per successful run, env and inject, for the
/// agent key and each provider key read, exact under concurrency; an unwritable state file is a
/// warning, never a failure; a token close to expiry is a one-line warning.
final class UsageTests: XCTestCase {
  func testEightConcurrentRunnersOfTwentyFiveRunsEachCountExactly200() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "60"
    let token = try fixture.agentToken("load", ["--key", "OPENAI_MAIN"])
    let agentID = try RunKit.agentID("load", vaultPath: sandbox.vaultPath)
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    let shared = Robust.Unchecked(value: sandbox)
    let failures = Robust.Locked([String]())
    let environment = RunFixture.agentEnvironment(token)
    Robust.onThreads(8) { worker in
      for round in 0..<25 {
        guard let result = try? shared.value.run(["run", "--", "/bin/sh", "-c", "exit 0"], environment: environment)
        else {
          failures.update { $0.append("worker \(worker) round \(round): could not start vault") }
          continue
        }
        if result.status != 0 || !result.stderr.isEmpty {
          failures.update { $0.append("worker \(worker) round \(round): \(result.status) \(result.stderrText)") }
        }
      }
    }
    XCTAssertEqual(failures.value, [])
    let state = try RunKit.state(sandbox)
    XCTAssertEqual(RunKit.uses(state, "agents", agentID), 200, "the agent key's uses")
    XCTAssertEqual(RunKit.uses(state, "keys", keyID), 200, "OPENAI_MAIN's uses")
    XCTAssertEqual((state["keys"] as? [String: Any])?.count, 1, "keys that were never read have a record")
    XCTAssertEqual(try sandbox.agentShowJSON("load")["uses"] as? Int, 200, "agent-key show --json")
  }

  func testRunEnvAndInjectEachRecordOneUseOfWhatTheyRead() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let token = try fixture.agentToken("user", ["--provider", "openai"])
    let agentID = try RunKit.agentID("user", vaultPath: sandbox.vaultPath)
    let main = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    let custom = try RunKit.keyID("CUSTOM_KEY", vaultPath: sandbox.vaultPath)
    let anthropic = try RunKit.keyID("ANTHROPIC_MAIN", vaultPath: sandbox.vaultPath)
    let agent = RunFixture.agentEnvironment(token)
    let template = sandbox.root + "/template"
    try writeFile(template, Array("k: {{ vault://OPENAI_MAIN }}\n".utf8), mode: 0o600)

    func expectUses(_ agentUses: Int?, _ mainUses: Int?, _ customUses: Int?, _ what: String, line: UInt = #line)
      throws
    {
      let state = try RunKit.state(sandbox, line: line)
      XCTAssertEqual(RunKit.uses(state, "agents", agentID), agentUses, "\(what): agent", line: line)
      XCTAssertEqual(RunKit.uses(state, "keys", main), mainUses, "\(what): OPENAI_MAIN", line: line)
      XCTAssertEqual(RunKit.uses(state, "keys", custom), customUses, "\(what): CUSTOM_KEY", line: line)
      XCTAssertNil(RunKit.uses(state, "keys", anthropic), "\(what): ANTHROPIC_MAIN was never read", line: line)
    }

    let run = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"], environment: agent)
    XCTAssertEqual(run.status, 0, run.stderrText)
    try expectUses(1, 1, nil, "after run --key OPENAI_MAIN")
    let state = try RunKit.state(sandbox)
    let stamp = try XCTUnwrap(RunKit.lastUsed(state, "agents", agentID))
    XCTAssertNotNil(Timestamp(rfc3339: stamp), "lastUsed \(stamp)")

    let env = try sandbox.run(["env"], environment: agent)
    XCTAssertEqual(env.status, 0, env.stderrText)
    try expectUses(2, 2, 1, "after env (both openai keys)")

    let inject = try sandbox.run(["inject", "-i", template], environment: agent)
    XCTAssertEqual(inject.status, 0, inject.stderrText)
    try expectUses(3, 3, 1, "after inject of OPENAI_MAIN")

    // Refused and failed commands record nothing.
    let denied = try sandbox.run(["run", "--key", "ANTHROPIC_MAIN", "--", "/bin/true"], environment: agent)
    XCTAssertEqual(denied.status, 12, denied.stderrText)
    let unknown = try sandbox.run(["env", "--key", "NO_SUCH_KEY"], environment: agent)
    XCTAssertEqual(unknown.status, 3, unknown.stderrText)
    let missing = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "no-such-command-xyz"], environment: agent)
    XCTAssertEqual(missing.status, 127, missing.stderrText)
    try expectUses(3, 3, 1, "after refusals")

    // With the passphrase: provider keys count, no agent does.
    let owner = try sandbox.run(["run", "--key", "CUSTOM_KEY", "--", "/bin/true"])
    XCTAssertEqual(owner.status, 0, owner.stderrText)
    try expectUses(3, 3, 2, "after a passphrase run")
  }

  func testAStateFileThatCannotBeWrittenIsAWarningNotAFailure() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let token = try fixture.agentToken("warn", ["--all"])
    let statePath = sandbox.vaultPath + ".state"
    let blockers = [("the state file", statePath), ("the state lock", statePath + ".lock")]
    for (what, path) in blockers {
      _ = unlink(path)
      try makeDirectory(path)
      defer { _ = rmdir(path) }
      for (mode, options, environment) in [
        ("passphrase", [String](), [String: String?]()), ("agent key", [], RunFixture.agentEnvironment(token)),
        ("--mask", ["--mask"], RunFixture.agentEnvironment(token)),
      ] {
        let result = try sandbox.run(
          ["run"] + options + ["--key", "OPENAI_MAIN", "--", "/bin/sh", "-c", "echo child ran; exit 5"],
          environment: environment)
        XCTAssertEqual(result.status, 5, "\(what), \(mode): \(result.stderrText)")
        XCTAssertEqual(result.stdoutText, "child ran\n", "\(what), \(mode)")
        let lines = result.stderrLines.filter { !$0.isEmpty }
        XCTAssertEqual(RunKit.warnings(result).count, 1, "\(what), \(mode): \(result.stderrText)")
        XCTAssertEqual(lines.count, 1, "\(what), \(mode): \(result.stderrText)")
        XCTAssertFalse(result.stderrText.contains("vault: error:"), "\(what), \(mode)")
        assertNoLeak(result, fixture.secrets + [token])
      }
      let env = try sandbox.run(["env", "--key", "OPENAI_MAIN"])
      XCTAssertEqual(env.status, 0, "\(what), env: \(env.stderrText)")
      XCTAssertEqual(RunKit.warnings(env).count, 1, "\(what), env: \(env.stderrText)")
      XCTAssertEqual(String(decoding: env.stdout, as: UTF8.self).contains("OPENAI_MAIN="), true)
    }
  }

  /// A damaged, oversized or linked state file is set aside with one warning and counting
  /// starts anew: no state file can make a run slow or fail, and a planted link is never read
  /// through or written through.
  func testAnUnusableStateFileIsSetAsideWithOneWarning() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let statePath = sandbox.vaultPath + ".state"
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    let outside = sandbox.root + "/outside.txt"
    let huge = Array("llm-vault-usage 2\n".utf8) + [UInt8](repeating: 0x41, count: 9 << 20)
    let cases: [(String, () throws -> Void)] = [
      ("damaged", { try writeFile(statePath, Array("not a state file\n".utf8), mode: 0o600) }),
      ("over 8 MiB", { try writeFile(statePath, huge, mode: 0o600) }),
      (
        "a symbolic link",
        {
          try writeFile(outside, Array("llm-vault-usage 2\n".utf8), mode: 0o600)
          XCTAssertEqual(symlink(outside, statePath), 0)
        }
      ),
    ]
    for (what, plant) in cases {
      _ = unlink(statePath)
      _ = unlink(statePath + ".bad")
      try plant()
      let result = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/sh", "-c", "exit 3"])
      XCTAssertEqual(result.status, 3, "\(what): \(result.stderrText)")
      XCTAssertEqual(RunKit.warnings(result).count, 1, "\(what): \(result.stderrText)")
      XCTAssertTrue(result.stderrText.contains("set aside"), "\(what): \(result.stderrText)")
      XCTAssertEqual(RunKit.uses(try RunKit.state(sandbox), "keys", keyID), 1, what)
      var status = stat()
      XCTAssertEqual(lstat(statePath + ".bad", &status), 0, "\(what): the old file is kept aside")
    }
    XCTAssertEqual(try readFile(outside), Array("llm-vault-usage 2\n".utf8), "the link's target is untouched")
  }

  func testATokenExpiringWithinSevenDaysGivesOneWarningLine() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let soon = try fixture.agentToken("soon", ["--key", "OPENAI_MAIN", "--expires", "3d"])
    let later = try fixture.agentToken("later", ["--key", "OPENAI_MAIN", "--expires", "30d"])
    let tokenFile = sandbox.root + "/soon.token"
    try writeFile(tokenFile, Array((soon + "\n").utf8), mode: 0o600)
    let command = ["--", "/bin/sh", "-c", "echo child ran"]

    for (what, arguments, environment) in [
      ("VAULT_AGENT_KEY", ["run"] + command, RunFixture.agentEnvironment(soon)),
      ("--agent-key-file", ["run", "--agent-key-file", tokenFile] + command, noPassphrase),
      ("--mask", ["run", "--mask"] + command, RunFixture.agentEnvironment(soon)),
    ] {
      let result = try sandbox.run(arguments, environment: environment)
      XCTAssertEqual(result.status, 0, "\(what): \(result.stderrText)")
      XCTAssertEqual(result.stdoutText, "child ran\n", what)
      let lines = result.stderrLines.filter { !$0.isEmpty }
      XCTAssertEqual(lines.count, 1, "\(what): \(result.stderrText)")
      let warning = lines.first ?? ""
      XCTAssertTrue(warning.hasPrefix("vault: warning: "), "\(what): \(warning)")
      XCTAssertTrue(warning.contains("soon") && warning.contains("expire"), "\(what): \(warning)")
      assertNoLeak(result, fixture.secrets + [soon])
    }
    let env = try sandbox.run(["env"], environment: RunFixture.agentEnvironment(soon))
    XCTAssertEqual(env.status, 0, env.stderrText)
    XCTAssertEqual(RunKit.warnings(env).count, 1, "env: \(env.stderrText)")

    // Further away, or with the passphrase: no warning.
    let quiet = try sandbox.run(["run"] + command, environment: RunFixture.agentEnvironment(later))
    XCTAssertEqual(quiet.status, 0, quiet.stderrText)
    XCTAssertEqual(quiet.stderrText, "", "a 30-day token warned")
    let owner = try sandbox.run(["run", "--key", "OPENAI_MAIN"] + command)
    XCTAssertEqual(owner.stderrText, "", "a passphrase run warned")
  }
}
