import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The run cache (`RunCache`; docs/FORMAT.md, "The run cache"): what `vault run` and `vault env`
/// with an agent key and no selectors read last time, reused while the vault file and the binary
/// are unchanged. Each test runs the real binary in a sandbox; the debug build says on stderr
/// whether it used the cache (`VAULT_TEST_RUN_CACHE_TRACE`), and caches a vault written a moment
/// ago (`VAULT_TEST_RUN_CACHE_SETTLE_SECONDS=0`; a release build waits 2 seconds).
final class RunCacheTests: XCTestCase {
  private struct Cached {
    var fixture: RunFixture
    var token: String
    var environment: [String: String?]
    var sandbox: VaultSandbox { fixture.sandbox }
    var directory: String { sandbox.root + "/.cache/llm-vault/runs" }
    /// The one cache file of the token (its name is the token id).
    var file: String? {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
      return names.filter { !$0.hasPrefix(".") }.first.map { directory + "/" + $0 }
    }
  }

  /// The standard keys, an `--all` agent key, and the environment of a launch with it.
  private func cached(settle: String? = "0") throws -> Cached {
    let fixture = try RunFixture()
    let token = try fixture.agentToken("runner", ["--all"])
    var environment = RunFixture.agentEnvironment(token)
    environment["VAULT_TEST_RUN_CACHE_TRACE"] = "1"
    environment["VAULT_TEST_RUN_CACHE_SETTLE_SECONDS"] = settle
    return Cached(fixture: fixture, token: token, environment: environment)
  }

  /// `vault run -- env -0` with the cache's environment: the child's variables and the trace.
  private func launch(
    _ setup: Cached, _ extra: [String: String?] = [:], file: StaticString = #filePath, line: UInt = #line
  ) throws -> (child: [String: String], trace: [String]) {
    let (result, child) = try setup.fixture.runEnvironment(
      [], environment: setup.environment.merging(extra) { $1 }, file: file, line: line)
    assertNoLeak(result, [setup.token], allowStdout: true, file: file, line: line)
    return (child, Self.trace(result))
  }

  /// The result as a release build would give it: stderr without the trace.
  private static func withoutTrace(_ result: RunResult) -> RunResult {
    var plain = result
    let lines = result.stderrLines.filter { !$0.hasPrefix("vault: debug: run cache: ") }
    plain.stderr = Array(lines.joined(separator: "\n").utf8)
    return plain
  }

  private static func trace(_ result: RunResult) -> [String] {
    result.stderrLines.compactMap { line in
      line.hasPrefix("vault: debug: run cache: ") ? String(line.dropFirst("vault: debug: run cache: ".count)) : nil
    }
  }

  // MARK: Hits

  func testTheSecondLaunchIsServedFromTheCacheWithTheSameVariables() throws {
    let setup = try cached()
    let first = try launch(setup)
    XCTAssertEqual(first.trace, ["miss (none)", "stored"])
    setup.fixture.assertCarriers(first.child, RunKit.standardNames, "first launch")
    let second = try launch(setup)
    XCTAssertEqual(second.trace, ["hit"])
    setup.fixture.assertCarriers(second.child, RunKit.standardNames, "from the cache")
    XCTAssertEqual(second.child, first.child, "the cache changed the child's environment")
    // The use is recorded as on the first launch: the agent and every key, twice now.
    let state = try RunKit.state(setup.sandbox)
    let agent = try RunKit.agentID("runner", vaultPath: setup.sandbox.vaultPath)
    XCTAssertEqual(RunKit.uses(state, "agents", agent), 2)
    for name in setup.fixture.values.keys {
      let key = try RunKit.keyID(name, vaultPath: setup.sandbox.vaultPath)
      XCTAssertEqual(RunKit.uses(state, "keys", key), 2, name)
    }
  }

  func testEnvPrintsTheSameFromTheCacheAsFromTheVault() throws {
    let setup = try cached()
    let fromVault = try setup.sandbox.run(["env"], environment: setup.environment)
    XCTAssertEqual(fromVault.status, 0, fromVault.stderrText)
    XCTAssertEqual(Self.trace(fromVault), ["miss (none)", "stored"])
    let fromCache = try setup.sandbox.run(["env", "--format", "dotenv"], environment: setup.environment)
    XCTAssertEqual(Self.trace(fromCache), ["hit"])
    XCTAssertTrue(fromCache.stdout == fromVault.stdout, "vault env differs when served from the cache")
    XCTAssertFalse(fromCache.stdout.isEmpty)
  }

  func testTheMaskedRunMasksWhatTheCacheInjects() throws {
    let setup = try cached()
    _ = try launch(setup)
    let script = "printf '%s\\n' \"$OPENAI_MAIN\""
    let masked = try setup.sandbox.run(
      ["run", "--mask", "--", "/bin/sh", "-c", script], environment: setup.environment)
    XCTAssertEqual(masked.status, 0, masked.stderrText)
    XCTAssertEqual(Self.trace(masked), ["hit"])
    assertSameSecret(masked.stdoutText, expectedMask(setup.fixture.values["OPENAI_MAIN"]!) + "\n", "masked output")
  }

  func testTheCachedLaunchWarnsOfExpiryAndOfARotationAsTheVaultDoes() throws {
    let fixture = try RunFixture()
    let soon = try fixture.agentToken("soon", ["--all", "--expires", "2h"])
    let old = try fixture.agentToken("rotated", ["--all"])
    let rotate = try fixture.sandbox.run(["agent-key", "rotate", "rotated", "--grace", "1h"])
    XCTAssertEqual(rotate.status, 0, rotate.stderrText)
    for token in [soon, old] {
      var environment = RunFixture.agentEnvironment(token)
      environment["VAULT_TEST_RUN_CACHE_TRACE"] = "1"
      environment["VAULT_TEST_RUN_CACHE_SETTLE_SECONDS"] = "0"
      let fresh = try fixture.runEnvironment([], environment: environment)
      let cached = try fixture.runEnvironment([], environment: environment)
      XCTAssertEqual(Self.trace(cached.result), ["hit"])
      let warnings = RunKit.warnings(fresh.result)
      XCTAssertEqual(warnings.count, 1, fresh.result.stderrText)
      XCTAssertEqual(RunKit.warnings(cached.result), warnings, "the cached launch warns otherwise")
      XCTAssertEqual(cached.child, fresh.child)
    }
  }

  // MARK: What the cache holds

  func testTheFileIsPrivateAndHoldsNoValueTokenOrNameInClear() throws {
    let setup = try cached()
    _ = try launch(setup)
    let file = try XCTUnwrap(setup.file, "no cache file was written")
    XCTAssertEqual(fileMode(file), 0o600)
    XCTAssertEqual(fileMode(setup.directory), 0o700)
    let bytes = try readBytes(file)
    for secret in setup.fixture.secrets + [setup.token] {
      XCTAssertFalse(contains(bytes, Array(secret.utf8)), "a secret is in the cache file in clear")
    }
    for name in setup.fixture.values.keys + ["OPENAI_API_KEY"] {
      XCTAssertFalse(contains(bytes, Array(name.utf8)), "\(name) is in the cache file in clear")
    }
  }

  // MARK: Misses

  func testAnOwnerWriteMakesTheCacheStaleAndTheNewValueArrives() throws {
    var setup = try cached()
    _ = try launch(setup)
    let newValue = fakeSecret("sk-run-openai-main-new-")
    let edit = try setup.sandbox.run(["edit", "OPENAI_MAIN", "--value"], stdin: Array((newValue + "\n").utf8))
    XCTAssertEqual(edit.status, 0, edit.stderrText)
    setup.fixture.values["OPENAI_MAIN"] = newValue
    let after = try launch(setup)
    XCTAssertEqual(after.trace, ["miss (the vault file changed)", "stored"])
    setup.fixture.assertCarriers(after.child, RunKit.standardNames, "after edit --value")
    XCTAssertEqual(try launch(setup).trace, ["hit"])
  }

  func testARevokedTokenIsRefusedDespiteItsCacheWhichIsDeleted() throws {
    let setup = try cached()
    _ = try launch(setup)
    let file = try XCTUnwrap(setup.file)
    let revoke = try setup.sandbox.run(["agent-key", "revoke", "runner", "--yes"])
    XCTAssertEqual(revoke.status, 0, revoke.stderrText)
    let marker = setup.sandbox.root + "/ran"
    let refused = try setup.sandbox.run(["run", "--", "/usr/bin/touch", marker], environment: setup.environment)
    XCTAssertEqual(Self.trace(refused), ["miss (the vault file changed)", "removed"])
    assertFailure(Self.withoutTrace(refused), 11, mentioning: ["revoked"])
    XCTAssertFalse(fileExists(marker), "a revoked token's run started its command")
    XCTAssertFalse(fileExists(file), "the revoked token's cache is still there")
  }

  func testADamagedCacheIsReadAroundAndWrittenAnew() throws {
    let setup = try cached()
    _ = try launch(setup)
    let file = try XCTUnwrap(setup.file)
    var bytes = try readBytes(file)
    bytes[bytes.count - 40] ^= 0x01
    try writeFile(file, bytes, mode: 0o600)
    let after = try launch(setup)
    XCTAssertEqual(after.trace, ["miss (does not open under this token)", "stored"])
    setup.fixture.assertCarriers(after.child, RunKit.standardNames, "after damage")
    XCTAssertEqual(try launch(setup).trace, ["hit"])
  }

  func testAnotherTokensCacheDoesNotOpenUnderThisOne() throws {
    let setup = try cached()
    _ = try launch(setup)
    let allFile = try XCTUnwrap(setup.file)
    let narrow = try setup.fixture.agentToken("narrow", ["--key", "GEMINI_KEY"])
    var environment = setup.environment
    environment["VAULT_AGENT_KEY"] = narrow
    // The --all token's cache, under the narrow token's name: it must not open.
    let narrowID = String(narrow.dropFirst(3).prefix(11))
    XCTAssertFalse(narrowID.isEmpty)
    let first = try setup.fixture.runEnvironment([], environment: environment)
    XCTAssertEqual(Self.trace(first.result).last, "stored")
    let names = try FileManager.default.contentsOfDirectory(atPath: setup.directory).filter { !$0.hasPrefix(".") }
    let narrowFile = try XCTUnwrap(names.map { setup.directory + "/" + $0 }.first { $0 != allFile })
    try writeFile(narrowFile, try readBytes(allFile), mode: 0o600)
    let (result, child) = try setup.fixture.runEnvironment([], environment: environment)
    XCTAssertEqual(Self.trace(result).first, "miss (damaged)", "a cache made for another token was considered")
    setup.fixture.assertCarriers(
      child, ["GEMINI_KEY": "GEMINI_KEY", "GOOGLE_API_KEY": "GEMINI_KEY", "GEMINI_API_KEY": "GEMINI_KEY"],
      "narrow token")
  }

  func testHostileCacheFilesAreNeitherFollowedNorWaitedOn() throws {
    let setup = try cached()
    _ = try launch(setup)
    let file = try XCTUnwrap(setup.file)
    // A symbolic link in its place, to a copy of the real cache: not followed.
    let elsewhere = setup.sandbox.root + "/elsewhere"
    try writeFile(elsewhere, try readBytes(file), mode: 0o600)
    unlink(file)
    XCTAssertEqual(symlink(elsewhere, file), 0)
    let linked = try launch(setup)
    XCTAssertEqual(linked.trace.first, "miss (unreadable)")
    XCTAssertEqual(fileType(file), S_IFREG, "the link was not replaced by a cache file")
    // A FIFO in its place: the launch neither hangs nor reads it.
    unlink(file)
    XCTAssertEqual(mkfifo(file, 0o600), 0)
    let fifo = try launch(setup)
    XCTAssertEqual(fifo.trace, ["miss (not a private regular file of this user)", "stored"])
    setup.fixture.assertCarriers(fifo.child, RunKit.standardNames, "FIFO in place")
    // A cache file others may read is not used.
    XCTAssertEqual(chmod(file, 0o644), 0)
    XCTAssertEqual(try launch(setup).trace.first, "miss (not a private regular file of this user)")
    // A directory others may write to gets no cache.
    let directory = setup.directory
    XCTAssertEqual(chmod(directory, 0o777), 0)
    unlink(file)
    XCTAssertEqual(try launch(setup).trace, ["miss (none)", "not stored: the directory is not private"])
  }

  func testARefusedTokenLeavesNoTemporaryOfItsCacheBehind() throws {
    // What a writer killed between its write and its rename leaves: the whole record under the
    // temporary's name (a reviewer's finding, reproduced with strace's fault injection).
    let setup = try cached()
    _ = try launch(setup)
    let file = try XCTUnwrap(setup.file)
    let leftover = setup.directory + "/." + (file as NSString).lastPathComponent + ".tmp-99999-0123456789abcdef"
    try writeFile(leftover, try readBytes(file), mode: 0o600)
    let revoke = try setup.sandbox.run(["agent-key", "revoke", "runner", "--yes"])
    XCTAssertEqual(revoke.status, 0, revoke.stderrText)
    let refused = try setup.sandbox.run(["run", "--", "/bin/true"], environment: setup.environment)
    XCTAssertEqual(refused.status, 11, refused.stderrText)
    XCTAssertFalse(fileExists(file), "the revoked token's cache is still there")
    XCTAssertFalse(fileExists(leftover), "a temporary of the revoked token's cache survived its refusal")
  }

  func testAHeaderEditedThroughAMappingIsSeenThoughTheTimesStayTheSame() throws {
    // A write through a shared mapping to a page already dirty moves neither mtime nor ctime (a
    // reviewer's finding): the cache is bound to the header line too, whose generation every
    // save changes.
    let setup = try cached()
    let path = setup.sandbox.vaultPath
    let descriptor = open(path, O_RDWR)
    XCTAssertGreaterThanOrEqual(descriptor, 0)
    defer { close(descriptor) }
    var status = stat()
    XCTAssertEqual(fstat(descriptor, &status), 0)
    let size = Int(status.st_size)
    let mapped = try XCTUnwrap(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0))
    XCTAssertNotEqual(mapped, MAP_FAILED)
    defer { munmap(mapped, size) }
    let bytes = mapped.assumingMemoryBound(to: UInt8.self)
    // The first write through the mapping faults and stamps the times (a tick after the save);
    // a change and its undo, so neither is elided.
    usleep(20_000)
    let original = bytes[0]
    bytes[0] = original ^ 0xFF
    bytes[0] = original
    XCTAssertEqual(try launch(setup).trace, ["miss (none)", "stored"])
    var before = stat()
    XCTAssertEqual(stat(path, &before), 0)
    // The generation's first digit, on the same page, still dirty: no fault, no new time.
    let head = Array(UnsafeBufferPointer(start: bytes, count: min(size, 4096)))
    let marker = Array("\"generation\":".utf8)
    let at = try XCTUnwrap((0...(head.count - marker.count)).first { Array(head[$0..<($0 + marker.count)]) == marker })
    let digit = at + marker.count
    bytes[digit] = bytes[digit] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
    var after = stat()
    XCTAssertEqual(stat(path, &after), 0)
    XCTAssertTrue(
      before.st_ctim.tv_sec == after.st_ctim.tv_sec && before.st_ctim.tv_nsec == after.st_ctim.tv_nsec
        && before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec,
      "the edit moved the file's times: this test no longer shows what it is about")
    // Both launches read the file and find the damage, the cached one as the fresh one.
    let cached = try setup.sandbox.run(["run", "--", "/bin/true"], environment: setup.environment)
    XCTAssertEqual(Self.trace(cached).first, "miss (the vault file changed)")
    XCTAssertEqual(cached.status, 6, cached.stderrText)
    let fresh = try setup.sandbox.run(
      ["run", "--", "/bin/true"], environment: setup.environment.merging(["VAULT_RUN_CACHE": "0"]) { $1 })
    XCTAssertEqual(fresh.status, 6, fresh.stderrText)
  }

  // MARK: When the cache is not used

  func testSelectorsDryRunAndTheSwitchLeaveTheCacheAlone() throws {
    let setup = try cached()
    let selected = try setup.fixture.runEnvironment(["--key", "GEMINI_KEY"], environment: setup.environment)
    XCTAssertEqual(Self.trace(selected.result), [], "a run with selectors used the cache")
    let dry = try setup.sandbox.run(["run", "--dry-run"], environment: setup.environment)
    XCTAssertEqual(dry.status, 0, dry.stderrText)
    XCTAssertEqual(Self.trace(dry), [])
    for setting in ["0", "off", "False", "NO"] {
      let off = try launch(setup, ["VAULT_RUN_CACHE": setting])
      XCTAssertEqual(off.trace, [], "VAULT_RUN_CACHE=\(setting)")
      setup.fixture.assertCarriers(off.child, RunKit.standardNames, "VAULT_RUN_CACHE=\(setting)")
    }
    XCTAssertNil(setup.file, "a cache was written although it was off or not asked for")
  }

  func testAVaultWrittenAMomentAgoIsNotCached() throws {
    // A release build's wait: the vault was saved under 2 seconds ago.
    let setup = try cached(settle: nil)
    XCTAssertEqual(try launch(setup).trace, ["miss (none)", "not stored: the vault file changed too recently"])
    XCTAssertNil(setup.file)
  }

  func testAnOlderCopyOfTheVaultWarnsOfRollbackEvenWhenItsCacheMatches() throws {
    // The cache is made on one copy of the vault; the owner then saves a newer generation
    // through another path (a clone), which raises this user's generation record.
    let setup = try cached()
    let clone = setup.sandbox.root + "/clone.json"
    try writeFile(clone, try readBytes(setup.sandbox.vaultPath), mode: 0o600)
    _ = try launch(setup)
    let write = try setup.sandbox.run(["config", "set", "agent-keys.limit", "12"], environment: ["VAULT_FILE": clone])
    XCTAssertEqual(write.status, 0, write.stderrText)
    let (result, child) = try setup.fixture.runEnvironment([], environment: setup.environment)
    XCTAssertEqual(Self.trace(result).first, "miss (a newer generation was seen)")
    XCTAssertTrue(result.stderrText.contains("older than generation"), result.stderrText)
    setup.fixture.assertCarriers(child, RunKit.standardNames, "older copy")
  }
}

private func readBytes(_ path: String) throws -> [UInt8] {
  Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}
