import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 10, point 5: `vault doctor` checks, with no passphrase, what a careful owner would.
/// Each test makes one real condition and expects its finding; the clean vault expects none.
final class DoctorTests: XCTestCase {
  /// A vault with one provider key of the right shape and one agent key of 90 days.
  private func cleanVault() throws -> VaultSandbox {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("OPENAI_MAIN", value: fakeSecret("sk-proj-"), ["--provider", "openai"])
    _ = try sandbox.agentCreate("support-bot", ["--all"])
    return sandbox
  }

  /// `vault doctor` with no passphrase source at all, unless `environment` adds one.
  private func doctor(_ sandbox: VaultSandbox, _ options: [String] = [], environment: [String: String?] = [:]) throws
    -> RunResult
  {
    var variables = noPassphrase
    for (name, value) in environment { variables[name] = value }
    return try sandbox.run(["doctor"] + options, environment: variables)
  }

  /// The finding lines: every line of stdout but the last (the count).
  private func findings(_ result: RunResult) -> [String] {
    Array(result.stdoutText.split(separator: "\n").map(String.init).dropLast())
  }

  /// Asserts exit 1, exactly one finding containing every fragment, and the count line.
  @discardableResult
  private func assertFinding(
    _ result: RunResult, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line
  ) -> String? {
    XCTAssertEqual(result.status, 1, result.stdoutText + result.stderrText, file: file, line: line)
    XCTAssertEqual(result.stderrText, "", file: file, line: line)
    let matching = findings(result).filter { finding in fragments.allSatisfy { finding.contains($0) } }
    XCTAssertEqual(
      matching.count, 1, "no single finding with \(fragments) in:\n\(result.stdoutText)", file: file, line: line)
    let count = findings(result).count
    XCTAssertTrue(
      result.stdoutText.hasSuffix("vault doctor: \(count) finding\(count == 1 ? "" : "s")\n"), result.stdoutText,
      file: file, line: line)
    return matching.first
  }

  private func assertClean(_ result: RunResult, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result.status, 0, result.stdoutText + result.stderrText, file: file, line: line)
    XCTAssertEqual(result.stdoutText, "vault doctor: all checks passed\n", file: file, line: line)
    XCTAssertEqual(result.stderrText, "", file: file, line: line)
  }

  func testACleanVaultPassesWithoutAPassphrase() throws {
    let sandbox = try cleanVault()
    let before = sandbox.vaultBytes()
    assertClean(try doctor(sandbox))
    // The passphrase file of the sandbox (0600) is no finding either.
    assertClean(try doctor(sandbox, environment: ["VAULT_PASSPHRASE_FILE": sandbox.passphraseFile]))
    let json = try doctor(sandbox, ["--json"])
    XCTAssertEqual(json.status, 0, json.stderrText)
    let object = try jsonObject(json.stdout)
    XCTAssertEqual(object["ok"] as? Bool, true)
    XCTAssertEqual((object["findings"] as? [Any])?.count, 0)
    XCTAssertEqual(sandbox.vaultBytes(), before, "doctor writes nothing")
  }

  func testNoVaultIsNotFound() throws {
    let sandbox = try VaultSandbox()
    assertFailure(try doctor(sandbox), 3, mentioning: ["no vault at"])
  }

  func testTheVaultFileItsDirectoryAndItsLockFile() throws {
    let sandbox = try cleanVault()
    let data = sandbox.root + "/data"

    XCTAssertEqual(chmod(sandbox.vaultPath, 0o644), 0)
    let readable = assertFinding(
      try doctor(sandbox), ["warning: the vault file", "readable by group or others", "644"])
    XCTAssertTrue(readable?.hasSuffix("; chmod 600 \(sandbox.vaultPath)") == true, readable ?? "")

    // Writable by others: vault refuses the file; doctor says so once, as an error, and exits 1.
    XCTAssertEqual(chmod(sandbox.vaultPath, 0o666), 0)
    let writable = try doctor(sandbox)
    assertFinding(writable, ["error: the vault file", "writable by group or others", "vault refuses it"])
    XCTAssertEqual(findings(writable).count, 1, writable.stdoutText)
    XCTAssertEqual(chmod(sandbox.vaultPath, 0o600), 0)

    XCTAssertEqual(chmod(data, 0o770), 0)
    assertFinding(try doctor(sandbox), ["the vault's directory \(data)", "writable by group or others", "770"])
    XCTAssertEqual(chmod(data, 0o700), 0)

    XCTAssertEqual(chmod(sandbox.vaultPath + ".lock", 0o644), 0)
    assertFinding(try doctor(sandbox), ["the lock file \(sandbox.vaultPath).lock", "644", "chmod 600"])
    XCTAssertEqual(chmod(sandbox.vaultPath + ".lock", 0o600), 0)

    assertClean(try doctor(sandbox))
  }

  func testAPassphraseFileOthersCanReadAndAPassphraseInTheEnvironment() throws {
    let sandbox = try cleanVault()
    XCTAssertEqual(chmod(sandbox.passphraseFile, 0o644), 0)
    let shared = try doctor(sandbox, environment: ["VAULT_PASSPHRASE_FILE": sandbox.passphraseFile])
    let line = assertFinding(shared, ["the file named by VAULT_PASSPHRASE_FILE", "group or others", "644"])
    XCTAssertTrue(line?.hasSuffix("; chmod 600 \"$VAULT_PASSPHRASE_FILE\"") == true, line ?? "")
    XCTAssertFalse(shared.stdoutText.contains(sandbox.passphraseFile), "the path named by the variable is not echoed")
    XCTAssertEqual(chmod(sandbox.passphraseFile, 0o600), 0)

    let passphrase = "a passphrase in the environment"
    let inEnvironment = try doctor(sandbox, environment: ["VAULT_PASSPHRASE": passphrase])
    assertFinding(inEnvironment, ["warning: VAULT_PASSPHRASE is set", "/proc/<pid>/environ", "VAULT_PASSPHRASE_FILE"])
    assertNoLeak(inEnvironment, [passphrase])
    let json = try doctor(sandbox, ["--json"], environment: ["VAULT_PASSPHRASE": passphrase])
    assertNoLeak(json, [passphrase])
  }

  /// An identity file holds a member's private key: the default one and the one named by
  /// VAULT_IDENTITY are checked like the passphrase file (the named path is not echoed).
  func testAnIdentityFileOthersCanRead() throws {
    let sandbox = try cleanVault()
    XCTAssertEqual(try sandbox.run(["identity", "new"]).status, 0)
    assertClean(try doctor(sandbox))
    let standard = sandbox.root + "/.config/llm-vault/identity"
    XCTAssertEqual(chmod(standard, 0o640), 0)
    _ = assertFinding(try doctor(sandbox), ["the identity file \(standard) is accessible by group or others", "640"])
    XCTAssertEqual(chmod(standard, 0o600), 0)
    let named = sandbox.root + "/other.identity"
    XCTAssertEqual(try sandbox.run(["identity", "new", "--out", named]).status, 0)
    XCTAssertEqual(chmod(named, 0o644), 0)
    let result = try doctor(sandbox, environment: ["VAULT_IDENTITY": named])
    _ = assertFinding(result, ["the identity file VAULT_IDENTITY is accessible by group or others"])
    XCTAssertFalse(result.stdoutText.contains(named), "the path named by the variable is not echoed")
  }

  func testAnAgentKeyExpiringWithin14Days() throws {
    let sandbox = try cleanVault()
    _ = try sandbox.agentCreate("month", ["--all", "--expires", "30d"])
    assertClean(try doctor(sandbox))
    _ = try sandbox.agentCreate("weekly", ["--all", "--expires", "7d"])
    let line = assertFinding(try doctor(sandbox), ["warning: agent key weekly expires on", "in 7 days"])
    XCTAssertTrue(
      line?.hasSuffix("; vault agent-key rotate weekly, and hand the agent its new token") == true, line ?? "")
    // Revoked, it stops working anyway: no finding.
    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "weekly", "--yes"]).status, 0)
    assertClean(try doctor(sandbox))
  }

  func testAProviderKeyUnusedFor90Days() throws {
    let sandbox = try cleanVault()
    let id = try VaultStore(path: sandbox.vaultPath).read().document.key(named: "OPENAI_MAIN").id.description
    let now = Int64(Date().timeIntervalSince1970)
    func lastUsed(daysAgo days: Int64) throws {
      let epoch = now - days * 86_400
      try writeFile(
        sandbox.vaultPath + ".state", Array("llm-vault-usage 2\nkey \(id) \(epoch) 3 0 0 0 0 0 0 0 0 0\n".utf8),
        mode: 0o600)
    }
    try lastUsed(daysAgo: 89)
    assertClean(try doctor(sandbox))
    try lastUsed(daysAgo: 100)
    let line = assertFinding(
      try doctor(sandbox), ["warning: provider key OPENAI_MAIN was last used on", "100 days ago"])
    XCTAssertTrue(line?.contains("vault rm OPENAI_MAIN") == true, line ?? "")
  }

  /// A use in the usage log counts for the 90 days as one in the snapshot does.
  func testAUseInTheUsageLogIsAUse() throws {
    let sandbox = try cleanVault()
    let id = try VaultStore(path: sandbox.vaultPath).read().document.key(named: "OPENAI_MAIN").id.description
    let now = Int64(Date().timeIntervalSince1970)
    try writeFile(
      sandbox.vaultPath + ".state",
      Array("llm-vault-usage 3 4\nkey \(id) \(now - 100 * 86_400) 3 0 0 0 0 0 0 0 0 0\n".utf8), mode: 0o600)
    assertFinding(try doctor(sandbox), ["warning: provider key OPENAI_MAIN was last used on", "100 days ago"])
    try writeFile(
      sandbox.vaultPath + ".state.log", Array("llm-vault-usage-log 1 4\nuse \(now - 86_400) - \(id) .\n".utf8),
      mode: 0o600)
    assertClean(try doctor(sandbox))
  }

  func testAKeyShapedLikeAnotherProvidersKey() throws {
    let sandbox = try cleanVault()
    let value = fakeSecret("AIza")
    let add = try sandbox.add("GEMINI_AS_OPENAI", value: value, ["--provider", "openai"])
    XCTAssertEqual(add.status, 0, add.stderrText)
    let result = try doctor(sandbox)
    assertFinding(
      result,
      [
        "provider key GEMINI_AS_OPENAI (\(expectedMask(value))) is shaped like a key of google, but it is linked to openai",
        "vault edit GEMINI_AS_OPENAI --provider google",
      ])
    assertNoLeak(result, [value])
    XCTAssertEqual(try sandbox.run(["edit", "GEMINI_AS_OPENAI", "--provider", "google"]).status, 0)
    assertClean(try doctor(sandbox))
  }

  /// Three visible characters say a provider only when they begin one provider's prefixes alone.
  func testTheMaskedFormNamesAProviderOnlyWhenItsPrefixIsDistinctive() {
    XCTAssertEqual(KeyAdvice.provider(forMasked: "AIz\u{2026}xyz"), "google")
    XCTAssertEqual(KeyAdvice.provider(forMasked: "gsk\u{2026}xyz"), "groq")
    XCTAssertEqual(KeyAdvice.provider(forMasked: "hf_\u{2026}xyz"), "huggingface")
    XCTAssertNil(KeyAdvice.provider(forMasked: "sk-\u{2026}xyz"), "sk-ant-, sk-or- and sk-proj- all begin so")
    XCTAssertNil(KeyAdvice.provider(forMasked: Masking.wholeMask))
    XCTAssertNil(KeyAdvice.provider(forMasked: "AIza-not-a-mask"))
  }

  func testAnOlderCopyOfTheVaultIsARollback() throws {
    let sandbox = try cleanVault()
    let older = try sandbox.readVault()
    try sandbox.addOK("ADDED_LATER", value: fakeSecret("sk-proj-"), ["--provider", "openai"])
    try writeFile(sandbox.vaultPath, older, mode: 0o600)
    let line = assertFinding(try doctor(sandbox), ["error: the vault file is at generation", "older than generation"])
    XCTAssertTrue(line?.contains("vault verify --accept-rollback") == true, line ?? "")
  }

  func testAnUnusableUsageStateFileAndOneSetAside() throws {
    let sandbox = try cleanVault()
    let state = sandbox.vaultPath + ".state"
    try writeFile(state, Array("not a state file\n".utf8), mode: 0o600)
    assertFinding(try doctor(sandbox), ["the usage state file \(state) is damaged", "rm \(state)"])

    _ = unlink(state)
    XCTAssertEqual(symlink(sandbox.root + "/elsewhere", state), 0)
    assertFinding(try doctor(sandbox), ["the usage state file \(state) is a symbolic link"])

    // A run sets the unusable file aside; doctor then reports the .bad file it left.
    let run = try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"])
    XCTAssertEqual(run.status, 0, run.stderrText)
    assertFinding(try doctor(sandbox), ["set aside as \(state).bad"])
    XCTAssertEqual(unlink(state + ".bad"), 0)
    assertClean(try doctor(sandbox))

    // The same for the usage log.
    let log = state + ".log"
    try writeFile(log, Array("not a log\n".utf8), mode: 0o600)
    assertFinding(try doctor(sandbox), ["the usage log \(log) is damaged", "rm \(log)"])
    _ = unlink(log)
    XCTAssertEqual(symlink(sandbox.root + "/elsewhere", log), 0)
    assertFinding(try doctor(sandbox), ["the usage log \(log) is a symbolic link"])
    XCTAssertEqual(try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"]).status, 0)
    assertFinding(try doctor(sandbox), ["set aside as \(log).bad"])
    XCTAssertEqual(unlink(log + ".bad"), 0)
    assertClean(try doctor(sandbox))
  }

  /// Doctor makes nothing: a missing socket directory of the unlock agent is checked for whether
  /// it could be made, and is not made; an existing one is judged as `vault unlock` judges it.
  /// That judgment is a finding only where keyctl is refused (the agent then keeps sessions), so
  /// what holds on every machine is that nothing is created or changed.
  func testTheUnlockAgentsDirectoryIsCheckedNotMade() throws {
    let sandbox = try cleanVault()
    let runtime = sandbox.root + "/run"
    XCTAssertEqual(mkdir(runtime, 0o700), 0)
    let agentDirectory = runtime + "/llm-vault"

    let missing = try doctor(sandbox, environment: ["XDG_RUNTIME_DIR": runtime])
    XCTAssertEqual(missing.status, 0, missing.stdoutText + missing.stderrText)
    XCTAssertFalse(fileExists(agentDirectory), "doctor made \(agentDirectory)")
    let keyringRefused = missing.stdoutText.contains("the kernel keyring is refused here")
    if !keyringRefused { assertClean(missing) }

    XCTAssertEqual(mkdir(agentDirectory, 0o700), 0)
    XCTAssertEqual(chmod(agentDirectory, 0o755), 0)
    let open = try doctor(sandbox, environment: ["XDG_RUNTIME_DIR": runtime])
    if keyringRefused {
      assertFinding(open, ["'vault unlock' cannot work here", "\(agentDirectory) is not a directory of mode 0700"])
    } else {
      assertClean(open)
    }
    XCTAssertEqual(fileMode(agentDirectory), 0o755, "doctor changed the directory's mode")

    // A runtime directory that does not exist: the agent's cannot be made in it.
    let absent = sandbox.root + "/absent"
    let nowhere = try doctor(sandbox, environment: ["XDG_RUNTIME_DIR": absent])
    if keyringRefused {
      assertFinding(nowhere, ["'vault unlock' cannot work here", "\(absent)/llm-vault cannot be created"])
    } else {
      assertClean(nowhere)
    }
    XCTAssertFalse(fileExists(absent))
  }

  /// The run cache: vault stores it only in a directory of this user's that no one else can
  /// write to, and reads only private regular files of this user's there; doctor says when
  /// either is not so (by name and mode: no cache file is read), and that VAULT_RUN_CACHE=0
  /// turns it off (a note, which changes no exit status).
  func testTheRunCacheDirectoryAndItsFiles() throws {
    let sandbox = try cleanVault()
    let token = try sandbox.agentCreate("runner", ["--all"])
    var launch = RunFixture.agentEnvironment(token)
    launch["VAULT_TEST_RUN_CACHE_SETTLE_SECONDS"] = "0"
    XCTAssertEqual(try sandbox.run(["run", "--", "/bin/true"], environment: launch).status, 0)
    let directory = sandbox.root + "/.cache/llm-vault/runs"
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
    XCTAssertEqual(names.count, 1, "\(names)")
    let file = directory + "/" + (names.first ?? "")
    assertClean(try doctor(sandbox))

    XCTAssertEqual(chmod(directory, 0o777), 0)
    let open = try doctor(sandbox)
    let line = assertFinding(
      open, ["warning: the run cache directory \(directory) is writable by group or others (mode 777)"])
    XCTAssertTrue(line?.hasSuffix("; chmod 700 \(directory)") == true, line ?? "")
    XCTAssertEqual(chmod(directory, 0o700), 0)

    XCTAssertEqual(chmod(file, 0o644), 0)
    let readable = try doctor(sandbox)
    assertFinding(readable, ["warning: the run cache file \(file) is open to group or others (mode 644)", "chmod 600"])
    // Nothing of the file's contents, not even its clear first line (the vault's id and the file identities).
    let firstLine = Array((FileManager.default.contents(atPath: file) ?? Data()).prefix { $0 != 0x0A })
    XCTAssertTrue(firstLine.starts(with: Array("llm-vault-run-cache 2 ".utf8)))
    assertNoLeak(readable, bytes: [Array(token.utf8), Array(firstLine.dropFirst("llm-vault-run-cache 2 ".count))])
    XCTAssertEqual(chmod(file, 0o600), 0)

    let off = try doctor(sandbox, environment: ["VAULT_RUN_CACHE": "0"])
    XCTAssertEqual(off.status, 0, off.stdoutText + off.stderrText)
    XCTAssertEqual(findings(off).count, 1, off.stdoutText)
    XCTAssertTrue(
      findings(off).first?.hasPrefix("note: the run cache is off (VAULT_RUN_CACHE=0)") == true, off.stdoutText)
    XCTAssertTrue(off.stdoutText.hasSuffix("vault doctor: all checks passed\n"), off.stdoutText)
  }

  /// A second hard link to a file beside the vault, or to the vault, is another path that shares
  /// its writes and keeps its old contents: a warning naming the path, with how to find the other.
  func testAHardLinkToTheUsageStateOrTheVault() throws {
    let sandbox = try cleanVault()
    XCTAssertEqual(try sandbox.run(["run", "--key", "OPENAI_MAIN", "--", "/bin/true"]).status, 0)
    let state = sandbox.vaultPath + ".state"
    XCTAssertTrue(fileExists(state))
    assertClean(try doctor(sandbox))

    let other = sandbox.root + "/state-copy"
    XCTAssertEqual(link(state, other), 0)
    let line = assertFinding(
      try doctor(sandbox), ["warning: \(state) has 2 hard links", "another path is the same file"])
    XCTAssertTrue(line?.contains("; remove the other link (find ") == true, line ?? "")
    XCTAssertTrue(line?.hasSuffix(" -xdev -samefile \(state))") == true, line ?? "")
    XCTAssertEqual(unlink(other), 0)
    assertClean(try doctor(sandbox))

    // The vault file itself: one finding (the file's own check says nothing of links).
    XCTAssertEqual(link(sandbox.vaultPath, other), 0)
    assertFinding(try doctor(sandbox), ["warning: \(sandbox.vaultPath) has 2 hard links"])
    XCTAssertEqual(findings(try doctor(sandbox)).count, 1)
  }

  func testATemporaryLeftByASaveThatDidNotFinish() throws {
    let sandbox = try cleanVault()
    let directory = (sandbox.vaultPath as NSString).deletingLastPathComponent
    let leftover = directory + "/.vault.json.tmp-4242-0011223344556677"
    try writeFile(leftover, try sandbox.readVault(), mode: 0o600)
    // Just written: a save may still be at it (its rename is milliseconds away).
    assertClean(try doctor(sandbox))
    var old = [timeval(tv_sec: time(nil) - 120, tv_usec: 0), timeval(tv_sec: time(nil) - 120, tv_usec: 0)]
    XCTAssertEqual(utimes(leftover, &old), 0)
    // A live writer holds its temporary flocked: not a leftover.
    let writer = open(leftover, O_RDWR | O_CLOEXEC)
    XCTAssertGreaterThanOrEqual(writer, 0)
    XCTAssertEqual(flock(writer, LOCK_EX | LOCK_NB), 0)
    assertClean(try doctor(sandbox))
    close(writer)
    let line = assertFinding(
      try doctor(sandbox), ["warning: \(leftover) was left by a save that did not finish", "a copy of the vault"])
    XCTAssertTrue(line?.hasSuffix("; rm \(leftover) (the next save removes it too)") == true, line ?? "")
    XCTAssertTrue(fileExists(leftover), "doctor removes nothing")
    try sandbox.addOK("ANOTHER", value: fakeSecret("sk-proj-"), ["--provider", "openai"])
    XCTAssertFalse(fileExists(leftover), "the next save removes it")
    assertClean(try doctor(sandbox))
  }

  func testJSONCarriesEveryFinding() throws {
    let sandbox = try cleanVault()
    _ = try sandbox.agentCreate("weekly", ["--all", "--expires", "7d"])
    // After the last write: every save makes the file 0600 again.
    XCTAssertEqual(chmod(sandbox.vaultPath, 0o640), 0)
    let result = try doctor(sandbox, ["--json"], environment: ["VAULT_PASSPHRASE": "in the environment"])
    XCTAssertEqual(result.status, 1, result.stderrText)
    XCTAssertEqual(result.stderrText, "")
    let object = try jsonObject(result.stdout)
    XCTAssertEqual(object["ok"] as? Bool, false)
    let entries = object["findings"] as? [[String: String]] ?? []
    XCTAssertEqual(entries.map { $0["check"] }, ["vault-file", "passphrase-variable", "agent-key-expiry"])
    XCTAssertEqual(entries.map { $0["severity"] }, ["warning", "warning", "warning"])
    XCTAssertEqual(entries.map { $0["subject"] }, [sandbox.vaultPath, "VAULT_PASSPHRASE", "weekly"])
    for entry in entries {
      XCTAssertEqual(Set(entry.keys), ["check", "severity", "subject", "message", "fix"])
      XCTAssertFalse((entry["message"] ?? "").isEmpty)
      XCTAssertFalse((entry["fix"] ?? "").isEmpty)
    }
  }
}
