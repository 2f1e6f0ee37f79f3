import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Usage recording in `<vault>.state` and its log `<vault>.state.log`: one use per successful
/// run, env and inject, for the agent key and each provider key read, exact under concurrency
/// and across folds; an unwritable or unusable file is a warning, never a failure; a token close
/// to expiry is a one-line warning.
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
    let blockers = [
      ("the state file", statePath), ("the state lock", statePath + ".lock"), ("the usage log", statePath + ".log"),
    ]
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

  /// The snapshot's own lines (`<vault>.state` alone), and its fold number.
  private func snapshot(_ sandbox: VaultSandbox) throws -> (fold: String, lines: [String]) {
    let lines = String(decoding: try readFile(sandbox.vaultPath + ".state"), as: UTF8.self).split(separator: "\n")
    let header = String(lines.first ?? "")
    XCTAssertTrue(header.hasPrefix("llm-vault-usage 3 "), header)
    return (String(header.dropFirst("llm-vault-usage 3 ".count)), lines.dropFirst().map(String.init))
  }

  private func logText(_ sandbox: VaultSandbox) throws -> String {
    String(decoding: try readFile(sandbox.vaultPath + ".state.log"), as: UTF8.self)
  }

  /// The length of each line `writeLog` writes.
  private let usedLineLength = "use 1800000000 - 0123456789abcdef0123456789abcdef .\n".utf8.count

  /// A log of fold `fold` holding `count` whole uses of `keyID`, as runs would have left it.
  private func writeLog(_ sandbox: VaultSandbox, fold: String, uses count: Int, of keyID: String) throws {
    let line = "use 1800000000 - \(keyID) .\n"
    try writeFile(
      sandbox.vaultPath + ".state.log",
      Array(("llm-vault-usage-log 1 \(fold)\n" + String(repeating: line, count: count)).utf8), mode: 0o600)
  }

  /// After the first use, a run appends a line to the log and leaves the snapshot alone; every
  /// command that shows usage adds the log's uses.
  func testUsesInTheLogShowInShowAndTheAgentKeyCommands() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let token = try fixture.agentToken("shown", ["--key", "OPENAI_MAIN"])
    let agentID = try RunKit.agentID("shown", vaultPath: sandbox.vaultPath)
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    let environment = RunFixture.agentEnvironment(token)
    XCTAssertEqual(try sandbox.run(["run", "--", "/bin/true"], environment: environment).status, 0)
    let first = try snapshot(sandbox)
    for _ in 0..<4 {
      let result = try sandbox.run(["run", "--", "/bin/true"], environment: environment)
      XCTAssertEqual(result.status, 0, result.stderrText)
      XCTAssertEqual(result.stderrText, "")
    }
    XCTAssertEqual(try snapshot(sandbox).lines, first.lines, "a run rewrote the snapshot")
    let logLines = try logText(sandbox).split(separator: "\n")
    XCTAssertEqual(logLines.first.map(String.init), "llm-vault-usage-log 1 \(first.fold)")
    XCTAssertEqual(logLines.dropFirst().count, 4)
    XCTAssertTrue(
      logLines.dropFirst().allSatisfy { $0.hasPrefix("use ") && $0.hasSuffix(" \(agentID) \(keyID) .") },
      "\(logLines)")

    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 5, "show --json")
    let shown = try sandbox.run(["show", "OPENAI_MAIN"], environment: noPassphrase)
    XCTAssertTrue(shown.stdoutText.contains("(5 unlocks)"), shown.stdoutText)
    XCTAssertEqual(try sandbox.agentShowJSON("shown")["uses"] as? Int, 5, "agent-key show --json")
    XCTAssertEqual(try sandbox.agentListJSON()["shown"]?["uses"] as? Int, 5, "agent-key list --json")
    let today = String(Timestamp.now().rfc3339.prefix(10))
    let list = try sandbox.run(["agent-key", "list"], environment: noPassphrase)
    XCTAssertTrue(
      list.stdoutText.split(separator: "\n").contains { $0.hasPrefix("shown") && $0.contains(today) },
      "agent-key list: \(list.stdoutText)")
    XCTAssertEqual(RunKit.uses(try RunKit.state(sandbox), "keys", keyID), 5)
  }

  /// Concurrent runs across a fold (the log filled by hand to just under its bound first) lose
  /// no use and count none twice.
  func testConcurrentRunsAcrossAFoldCountEveryUseOnce() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "60"
    let token = try fixture.agentToken("busy", ["--key", "OPENAI_MAIN"])
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    let environment = RunFixture.agentEnvironment(token)
    XCTAssertEqual(try sandbox.run(["run", "--", "/bin/true"], environment: environment).status, 0)
    let fold = try snapshot(sandbox).fold
    // 256 KiB less 60 runs' lines (83 bytes: an agent and a key): the fold comes mid-way.
    let prefilled = (256 * 1024 - 24 - 60 * 83) / usedLineLength
    try writeLog(sandbox, fold: fold, uses: prefilled, of: keyID)
    let shared = Robust.Unchecked(value: sandbox)
    let failures = Robust.Locked([String]())
    Robust.onThreads(8) { worker in
      for round in 0..<25 {
        let result = try? shared.value.run(["run", "--", "/bin/true"], environment: environment)
        if result?.status != 0 || result?.stderr.isEmpty != true {
          failures.update { $0.append("worker \(worker) round \(round): \(result?.stderrText ?? "did not start")") }
        }
      }
    }
    XCTAssertEqual(failures.value, [])
    XCTAssertNotEqual(try snapshot(sandbox).fold, fold, "no fold happened")
    XCTAssertEqual(RunKit.uses(try RunKit.state(sandbox), "keys", keyID), 1 + prefilled + 200)
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 1 + prefilled + 200)
    XCTAssertEqual(try sandbox.agentShowJSON("busy")["uses"] as? Int, 201)
  }

  func testARunThatWouldPassTheBoundFoldsTheLog() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    XCTAssertEqual(try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"]).status, 0)
    let fold = try XCTUnwrap(Int(try snapshot(sandbox).fold))
    // As full as it can be with one more line taking it past 256 KiB.
    let prefilled = (256 * 1024 - "llm-vault-usage-log 1 \(fold)\n".utf8.count) / usedLineLength
    try writeLog(sandbox, fold: String(fold), uses: prefilled, of: keyID)
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 1 + prefilled)
    let result = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stderrText, "")
    XCTAssertEqual(try logText(sandbox), "llm-vault-usage-log 1 \(fold + 1)\n", "the log was not emptied")
    let after = try snapshot(sandbox)
    XCTAssertEqual(after.fold, String(fold + 1))
    XCTAssertEqual(after.lines.count, 1)
    XCTAssertEqual(after.lines.first?.split(separator: " ")[3], "\(prefilled + 2)", "the snapshot holds every use")
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, prefilled + 2)
  }

  /// A fold killed after it replaced the snapshot and before it replaced the log leaves the
  /// files below (made by hand): the log's uses are already in the snapshot, and its fold number
  /// says so.
  func testALogLeftByAFoldKilledBetweenItsRenamesCountsOnce() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    try writeFile(
      sandbox.vaultPath + ".state", Array("llm-vault-usage 3 6\nkey \(keyID) 1800000000 9 0 0 0 0 0 0 0 0 0\n".utf8),
      mode: 0o600)
    try writeLog(sandbox, fold: "5", uses: 3, of: keyID)
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 9)
    XCTAssertEqual(RunKit.uses(try RunKit.state(sandbox), "keys", keyID), 9)
    let result = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"])
    XCTAssertEqual(result.stderrText, "")
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 10)
    XCTAssertEqual(try logText(sandbox), "llm-vault-usage-log 1 7\n")
    XCTAssertEqual(try snapshot(sandbox).fold, "7")
    // And the log of the same fold as the snapshot counts.
    try writeLog(sandbox, fold: "7", uses: 3, of: keyID)
    XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 13)
  }

  /// What a power cut or a kill leaves at the log's end (a line cut short, NUL bytes) costs the
  /// spoiled line, no warning, and no later use.
  func testATornOrNULTailOfTheLogIsSkippedSilently() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    for _ in 0..<2 { XCTAssertEqual(try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"]).status, 0) }
    let whole = try readFile(sandbox.vaultPath + ".state.log")
    for (what, tail) in [
      ("a torn line", Array("use 1800000000 - \(keyID.prefix(20))".utf8)),
      ("NUL bytes", [UInt8](repeating: 0, count: 4096)),
    ] {
      try writeFile(sandbox.vaultPath + ".state.log", whole + tail, mode: 0o600)
      XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 2, what)
      let result = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"])
      XCTAssertEqual(result.status, 0, "\(what): \(result.stderrText)")
      XCTAssertEqual(result.stderrText, "", what)
      XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 3, what)
      XCTAssertEqual(RunKit.uses(try RunKit.state(sandbox), "keys", keyID), 3, what)
      let doctor = try sandbox.run(["doctor"], environment: noPassphrase)
      XCTAssertFalse(doctor.stdoutText.contains("usage"), "\(what): \(doctor.stdoutText)")
      XCTAssertEqual(access(sandbox.vaultPath + ".state.log.bad", F_OK), -1, what)
      XCTAssertEqual(access(sandbox.vaultPath + ".state.bad", F_OK), -1, what)
    }
  }

  /// A damaged, oversized or linked log is set aside with one warning; counting goes on from
  /// the snapshot, and a planted link is never read or written through.
  func testAnUnusableLogIsSetAsideWithOneWarning() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let logPath = sandbox.vaultPath + ".state.log"
    let keyID = try RunKit.keyID("OPENAI_MAIN", vaultPath: sandbox.vaultPath)
    let outside = sandbox.root + "/outside.txt"
    let huge = Array("llm-vault-usage-log 1 1\n".utf8) + [UInt8](repeating: 0x41, count: 9 << 20)
    let cases: [(String, () throws -> Void)] = [
      ("damaged", { try writeFile(logPath, Array("not a log\n".utf8), mode: 0o600) }),
      ("over 8 MiB", { try writeFile(logPath, huge, mode: 0o600) }),
      (
        "group-writable",
        {
          try writeFile(logPath, Array("llm-vault-usage-log 1 1\n".utf8), mode: 0o600)
          XCTAssertEqual(chmod(logPath, 0o620), 0)
        }
      ),
      (
        "a symbolic link",
        {
          try writeFile(outside, Array("llm-vault-usage-log 1 1\n".utf8), mode: 0o600)
          XCTAssertEqual(symlink(outside, logPath), 0)
        }
      ),
    ]
    for (what, plant) in cases {
      try writeFile(
        sandbox.vaultPath + ".state", Array("llm-vault-usage 3 1\nkey \(keyID) 1800000000 4 0 0 0 0 0 0 0 0 0\n".utf8),
        mode: 0o600)
      _ = unlink(logPath)
      _ = unlink(logPath + ".bad")
      try plant()
      XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 4, what)
      let result = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/sh", "-c", "exit 3"])
      XCTAssertEqual(result.status, 3, "\(what): \(result.stderrText)")
      XCTAssertEqual(RunKit.warnings(result).count, 1, "\(what): \(result.stderrText)")
      XCTAssertTrue(result.stderrText.contains("set aside as \(logPath).bad"), "\(what): \(result.stderrText)")
      XCTAssertEqual(RunKit.uses(try RunKit.state(sandbox), "keys", keyID), 5, what)
      var status = stat()
      XCTAssertEqual(lstat(logPath + ".bad", &status), 0, "\(what): the old file is kept aside")
      XCTAssertEqual(lstat(logPath, &status), 0, what)
      XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG, "\(what): a new log")
      XCTAssertEqual(status.st_mode & 0o777, 0o600, what)
      let next = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"])
      XCTAssertEqual(next.stderrText, "", what)
      XCTAssertEqual(try sandbox.showJSON("OPENAI_MAIN")["uses"] as? Int, 6, what)
    }
    XCTAssertEqual(try readFile(outside), Array("llm-vault-usage-log 1 1\n".utf8), "the link's target is untouched")
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
