import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Kills writers with SIGKILL at random moments: the vault must always open and hold exactly
/// the state before or after the interrupted command, never a mix, a torn file or a lost key.
final class CrashTests: XCTestCase {
  private static func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }

  /// The problems with the vault after an interrupted command: `verify` must pass (unless
  /// `runVerify` is false), and the keys (names, order and plaintext values, read back
  /// independently) must be `expected`.
  private func problems(
    in sandbox: VaultSandbox, found: [(String, String)], expected: [(String, String)], secrets: [String],
    runVerify: Bool = true
  ) throws -> [String] {
    var problems: [String] = []
    if runVerify {
      let verify = try sandbox.run(["verify"])
      if verify.status != 0 {
        problems.append("verify: exit \(verify.status): \(verify.stderrText)")
      } else if !verify.stdoutText.hasPrefix("ok: \(expected.count) provider key") {
        problems.append("verify: \(verify.stdoutText.debugDescription), expected \(expected.count) keys")
      }
      for secret in secrets where contains(verify.allOutput, Array(secret.utf8)) {
        problems.append("verify printed a secret value")
      }
    }
    if found.map(\.0) != expected.map(\.0) {
      problems.append("keys \(found.map(\.0)), expected \(expected.map(\.0))")
    } else if found.map(\.1) != expected.map(\.1) {
      problems.append("a key's value changed")
    }
    return problems
  }

  func testAddKilledAtARandomMomentLeavesTheVaultBeforeOrAfterTheAdd() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "10"
    try sandbox.initVault()

    // A stale temp file from some earlier crash, half written: it must never get in the way.
    let planted = sandbox.root + "/data/.vault.json.tmp-99999-00112233aabbccdd"
    try writeFile(planted, Array(try sandbox.readVault().prefix(100)), mode: 0o600)

    // Ordinary adds, timed: earlier keys that must survive every crash, and the span of one add
    // (the kill delays are drawn from it). Repeated every 25 kills, the fastest of two taken,
    // so the window follows the machine's load.
    var expected: [(String, String)] = []
    func calibrate() throws -> Double {
      var fastest = Double.infinity
      for _ in 0..<2 {
        let name = "BASE_\(expected.count)"
        let value = Robust.fakeSecret()
        let started = Self.monotonicSeconds()
        let result = try sandbox.add(name, value: value, ["--provider", "openai"])
        fastest = min(fastest, Self.monotonicSeconds() - started)
        XCTAssertEqual(result.status, 0, result.stderrText)
        expected.append((name, value))
      }
      return min(fastest, 0.25)
    }
    var typical = try calibrate()
    XCTAssertFalse(FileManager.default.fileExists(atPath: planted), "the next save removes a stale temp file")
    var longest = 0.0

    var before = 0
    var after = 0
    var finishedBeforeSignal = 0
    var killedAfterCommit = 0
    var mostTemporaries = 0
    var failures: [String] = []
    var generator = SystemRandomNumberGenerator()
    for iteration in 0..<100 {
      if iteration > 0 && iteration % 25 == 0 { typical = try calibrate() }
      let span = max(typical * 1.2, 0.06)
      longest = max(longest, span)
      let name = "CRASH_\(iteration)"
      let value = Robust.fakeSecret()
      let process = try sandbox.start(
        ["add", name, "--provider", "openai", "--model", "gpt-4o"], stdin: Array((value + "\n").utf8))
      // Every other kill is aimed at the last fifth of an add, where the lock, the temp file,
      // the fsyncs and the rename are; the rest anywhere from the start.
      let delay =
        iteration % 2 == 0
        ? Double.random(in: 0...span, using: &generator)
        : Double.random(in: (typical * 0.8)...(typical * 1.05), using: &generator)
      usleep(useconds_t(delay * 1e6))
      process.kill()
      let result = try process.wait()
      let secrets = expected.map(\.1) + [value]
      for secret in secrets where contains(result.allOutput, Array(secret.utf8)) {
        failures.append("\(name): add printed a secret value")
      }
      guard result.status == 0 || result.status == 128 + SIGKILL else {
        failures.append("\(name): add ended with exit \(result.status): \(result.stderrText)")
        break
      }
      mostTemporaries = max(mostTemporaries, Robust.temporaryFiles(besides: sandbox.vaultPath).count)

      // Committed or not is read from the file itself; an add that reported success must be in it.
      let contents = try Robust.decryptAll(path: sandbox.vaultPath)
      let present = contents.contains { $0.0 == name }
      if result.status == 0 {
        finishedBeforeSignal += 1
        if !present { failures.append("\(name): add exited 0 but the key is not in the vault") }
      }
      if present {
        after += 1
        if result.status != 0 { killedAfterCommit += 1 }
        expected.append((name, value))
      } else {
        before += 1
      }
      // The in-process read above already unlocked the file (MAC checked) and decrypted every
      // key; `vault verify` adds the binary's own checks (masked forms, names, the generation
      // seen), whose failures stay in the file until found: every fifth kill (the last among
      // them) runs it, which still catches each, and leaves the loop's time to the kills.
      let found = try problems(
        in: sandbox, found: contents, expected: expected, secrets: secrets, runVerify: iteration % 5 == 4)
      if !found.isEmpty {
        failures += found.map { "after killing the add of \(name) (\(present ? "after" : "before") commit): \($0)" }
        break
      }
    }
    print(
      "crash loop: \(before) kills landed before the commit, \(after) after "
        + "(\(finishedBeforeSignal) had exited already, \(killedAfterCommit) died between the rename and exit); at most \(mostTemporaries) stale temp file(s); "
        + "kill delays up to \(Int(longest * 1000)) ms")
    XCTAssertTrue(failures.isEmpty, failures.prefix(10).joined(separator: "\n"))
    XCTAssertEqual(before + after, 100)

    // A clean save afterwards works, clears every stale temp file, and every key reads back
    // through the binary with its exact value.
    let last = Robust.fakeSecret()
    XCTAssertEqual(try sandbox.add("AFTER_CRASHES", value: last).status, 0)
    expected.append(("AFTER_CRASHES", last))
    XCTAssertEqual(Robust.temporaryFiles(besides: sandbox.vaultPath), [])
    let list = try sandbox.run(["list", "--json"])
    XCTAssertEqual(list.status, 0, list.stderrText)
    XCTAssertEqual(try Robust.listedNames(list), expected.map(\.0))
    for (name, value) in expected.prefix(3) + expected.suffix(3) {
      let get = try sandbox.run(["get", name])
      XCTAssertEqual(get.status, 0, get.stderrText)
      XCTAssertEqual(get.stdoutText, value, "\(name) reads back with its value")
    }
    let file = try sandbox.readVault()
    for (name, value) in expected where contains(file, Array(value.utf8)) {
      XCTFail("\(name)'s value is stored in clear")
    }
  }

  /// The same for commands that change an existing key: a killed `edit --value` leaves the old
  /// value or the new one, a killed `rm` leaves the key or not, and nothing else moves.
  func testEditAndRemoveKilledAtARandomMomentLeaveTheOldOrTheNewState() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "10"
    try sandbox.initVault()
    var expected: [(String, String)] = []
    for index in 0..<6 {
      let value = Robust.fakeSecret()
      XCTAssertEqual(try sandbox.add("KEY_\(index)", value: value).status, 0)
      expected.append(("KEY_\(index)", value))
    }
    var generator = SystemRandomNumberGenerator()
    var failures: [String] = []
    var outcomes = (old: 0, new: 0)
    for iteration in 0..<24 {
      let removing = iteration % 4 == 3 && expected.count > 2
      let target = Int.random(in: 0..<expected.count, using: &generator)
      let name = expected[target].0
      let newValue = Robust.fakeSecret()
      let process =
        removing
        ? try sandbox.start(["rm", name, "--yes"])
        : try sandbox.start(["edit", name, "--value"], stdin: Array((newValue + "\n").utf8))
      usleep(useconds_t.random(in: 0...80_000, using: &generator))
      process.kill()
      let result = try process.wait()
      guard result.status == 0 || result.status == 128 + SIGKILL else {
        failures.append("\(iteration): exit \(result.status): \(result.stderrText)")
        break
      }
      let found = try Robust.decryptAll(path: sandbox.vaultPath)
      let now = found.first { $0.0 == name }
      var candidate = expected
      if removing {
        if now == nil { candidate.remove(at: target) }
      } else if now?.1 == newValue {
        candidate[target].1 = newValue
      }
      if candidate.map(\.0) == expected.map(\.0) && candidate.map(\.1) == expected.map(\.1) {
        outcomes.old += 1
        if result.status == 0 { failures.append("\(iteration): \(name): exited 0 but nothing changed") }
      } else {
        outcomes.new += 1
      }
      expected = candidate
      let secrets = expected.map(\.1) + [newValue]
      for secret in secrets where contains(result.allOutput, Array(secret.utf8)) {
        failures.append("\(iteration): output holds a secret value")
      }
      let problems = try problems(in: sandbox, found: found, expected: expected, secrets: secrets)
      if !problems.isEmpty {
        failures += problems.map { "after killing a change of \(name): \($0)" }
        break
      }
    }
    print("edit/rm crash loop: \(outcomes.old) left the old state, \(outcomes.new) the new one")
    XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
  }

  /// A killed `vault passwd` must never lock the user out: afterwards exactly one of the old
  /// and the new passphrase opens the vault, with every key intact.
  func testPasswdKilledAtARandomMomentLeavesExactlyOneWorkingPassphrase() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "10"
    try sandbox.initVault()
    var expected: [(String, String)] = []
    for index in 0..<2 {
      let value = Robust.fakeSecret()
      XCTAssertEqual(try sandbox.add("KEY_\(index)", value: value).status, 0)
      expected.append(("KEY_\(index)", value))
    }
    // One passwd to completion, timed, to size the kill window.
    var current = "the first changed passphrase"
    let started = Self.monotonicSeconds()
    let first = try sandbox.run(["passwd"] + TestKDF.options, environment: ["VAULT_NEW_PASSPHRASE": current])
    let window = min(max((Self.monotonicSeconds() - started) * 1.2, 0.1), 1.0)
    XCTAssertEqual(first.status, 0, first.stderrText)
    var generator = SystemRandomNumberGenerator()
    var failures: [String] = []
    var changed = 0
    for iteration in 0..<12 {
      let next = "passphrase number \(iteration) " + Robust.fakeSecret("")
      let process = try sandbox.start(
        ["passwd"] + TestKDF.options,
        environment: ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": current, "VAULT_NEW_PASSPHRASE": next])
      usleep(useconds_t(Double.random(in: 0...window, using: &generator) * 1e6))
      process.kill()
      let result = try process.wait()
      guard result.status == 0 || result.status == 128 + SIGKILL else {
        failures.append("\(iteration): passwd exit \(result.status): \(result.stderrText)")
        break
      }
      if contains(result.allOutput, Array(next.utf8)) || contains(result.allOutput, Array(current.utf8)) {
        failures.append("\(iteration): passwd printed a passphrase")
      }
      let old = try sandbox.run(["verify"], environment: ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": current])
      let new = try sandbox.run(["verify"], environment: ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": next])
      guard [old.status, new.status].sorted() == [0, 5] else {
        failures.append("\(iteration): old passphrase exit \(old.status), new exit \(new.status)")
        break
      }
      if result.status == 0 && new.status != 0 { failures.append("\(iteration): passwd exited 0, change lost") }
      if new.status == 0 {
        current = next
        changed += 1
      }
      let found = try Robust.decryptAll(path: sandbox.vaultPath, passphrase: current)
      if found.map(\.0) != expected.map(\.0) || found.map(\.1) != expected.map(\.1) {
        failures.append("\(iteration): the keys changed")
        break
      }
    }
    print("passwd crash loop: \(changed) of 12 changes committed")
    XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
  }
}
