import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Many `vault` processes on one vault at once: writers serialise on the lock and lose nothing,
/// readers never see a half-written file, a held lock makes writers wait or report busy.
final class ConcurrencyTests: XCTestCase {
  func testEightWritersAddingTenKeysEachAtOnceLoseNothing() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "60"
    try sandbox.initVault()

    var planned: [[(name: String, value: String)]] = []
    for worker in 0..<8 {
      planned.append((0..<10).map { ("W\(worker)_KEY_\($0)", Robust.fakeSecret()) })
    }
    let plan = planned
    let allValues = plan.flatMap { $0.map(\.value) }
    let shared = Robust.Unchecked(value: sandbox)
    let failures = Robust.Locked([String]())
    let writersLeft = Robust.Locked(8)
    let reads = Robust.Locked(0)

    // Eight writer threads, each running its ten adds one after another, all starting together;
    // a ninth thread reads (list and verify, which take no lock) until the writers are done.
    Robust.onThreads(9) { worker in
      let sandbox = shared.value
      if worker == 8 {
        var round = 0
        while writersLeft.value > 0 {
          let arguments = round % 2 == 0 ? ["list", "--json"] : ["verify"]
          round += 1
          guard let result = try? sandbox.run(arguments) else {
            failures.update { $0.append("reader: could not run \(arguments)") }
            return
          }
          reads.update { $0 += 1 }
          if result.status != 0 {
            failures.update {
              $0.append("reader: \(arguments.joined(separator: " ")) exit \(result.status): \(result.stderrText)")
            }
          }
          if allValues.contains(where: { contains(result.allOutput, Array($0.utf8)) }) {
            failures.update { $0.append("reader: output holds a secret value") }
          }
        }
        return
      }
      defer { writersLeft.update { $0 -= 1 } }
      for (name, value) in plan[worker] {
        guard let result = try? sandbox.add(name, value: value, ["--provider", "openai", "--model", "gpt-4o"]) else {
          failures.update { $0.append("\(name): could not run vault") }
          continue
        }
        if result.status != 0 {
          failures.update { $0.append("\(name): add exit \(result.status): \(result.stderrText)") }
        }
        if allValues.contains(where: { contains(result.allOutput, Array($0.utf8)) }) {
          failures.update { $0.append("\(name): output holds a secret value") }
        }
      }
    }
    XCTAssertEqual(failures.value, [])
    XCTAssertGreaterThan(reads.value, 0)

    let list = try sandbox.run(["list", "--json"])
    XCTAssertEqual(list.status, 0, list.stderrText)
    let expectedNames = Set(plan.flatMap { $0.map(\.name) })
    let listed = try Robust.listedNames(list)
    XCTAssertEqual(listed.count, 80)
    XCTAssertEqual(Set(listed), expectedNames)
    // Each writer's keys appear in the order it added them.
    for worker in 0..<8 {
      XCTAssertEqual(listed.filter { $0.hasPrefix("W\(worker)_") }, plan[worker].map(\.name))
    }

    // 80 saves after `init`: generation 81. A lost update would show as fewer keys or a lower
    // generation.
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertEqual(verify.stdoutText, "ok: 80 provider keys verified, generation 81\n")

    let values = Dictionary(uniqueKeysWithValues: try Robust.decryptAll(path: sandbox.vaultPath))
    for (name, value) in plan.flatMap({ $0 }) {
      XCTAssertEqual(values[name], value, "\(name) holds the value its writer gave it")
    }
    let file = try sandbox.readVault()
    XCTAssertFalse(allValues.contains { contains(file, Array($0.utf8)) }, "a value is stored in clear")
    XCTAssertEqual(Robust.temporaryFiles(besides: sandbox.vaultPath), [])
  }

  /// Concurrent read-modify-writes of one record: every link survives.
  func testConcurrentLinksToOneKeyAllSurvive() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "60"
    try sandbox.initVault()
    let value = Robust.fakeSecret()
    XCTAssertEqual(try sandbox.add("SHARED", value: value, ["--provider", "openai"]).status, 0)
    let shared = Robust.Unchecked(value: sandbox)
    let failures = Robust.Locked([String]())
    Robust.onThreads(6) { worker in
      for round in 0..<3 {
        let model = "model-\(worker)-\(round)"
        let result = try? shared.value.run(["link", "SHARED", "--model", model])
        if result?.status != 0 {
          failures.update {
            $0.append("link \(model): exit \(String(describing: result?.status)): \(result?.stderrText ?? "")")
          }
        }
        if let result, contains(result.allOutput, Array(value.utf8)) {
          failures.update { $0.append("link \(model): output holds the value") }
        }
      }
    }
    XCTAssertEqual(failures.value, [])
    let show = try sandbox.run(["show", "SHARED", "--json"])
    XCTAssertEqual(show.status, 0, show.stderrText)
    let object = try JSONSerialization.jsonObject(with: Data(show.stdout)) as? [String: Any]
    let models = Set((object?["models"] as? [String]) ?? [])
    let wanted = Set((0..<6).flatMap { worker in (0..<3).map { "model-\(worker)-\($0)" } })
    XCTAssertEqual(models, wanted)
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.stdoutText, "ok: 1 provider key verified, generation 20\n", verify.stderrText)
    let get = try sandbox.run(["get", "SHARED"])
    XCTAssertEqual(get.stdoutText, value)
  }

  /// Writers racing a passphrase change: each succeeds (it got in first) or fails with a wrong
  /// passphrase (it came after), none is lost, and the vault ends up under the new passphrase.
  func testWritersRacingAPassphraseChangeSucceedOrReportWrongPassphrase() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "60"
    try sandbox.initVault()
    let value = Robust.fakeSecret()
    XCTAssertEqual(try sandbox.add("RACED", value: value).status, 0)
    let newPassphrase = "the new passphrase " + Robust.fakeSecret("")
    let shared = Robust.Unchecked(value: sandbox)
    let linked = Robust.Locked([String]())
    let failures = Robust.Locked([String]())
    Robust.onThreads(5) { worker in
      if worker == 4 {
        usleep(50_000)
        let result = try? shared.value.run(["passwd"], environment: ["VAULT_NEW_PASSPHRASE": newPassphrase])
        if result?.status != 0 { failures.update { $0.append("passwd: \(result?.stderrText ?? "did not run")") } }
        return
      }
      for round in 0..<4 {
        let model = "model-\(worker)-\(round)"
        guard let result = try? shared.value.run(["link", "RACED", "--model", model]) else { continue }
        switch result.status {
        case 0: linked.update { $0.append(model) }
        case 5: break
        default: failures.update { $0.append("link \(model): exit \(result.status): \(result.stderrText)") }
        }
        if contains(result.allOutput, Array(value.utf8)) { failures.update { $0.append("\(model): value printed") } }
      }
    }
    XCTAssertEqual(failures.value, [])
    let withNew: [String: String?] = ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": newPassphrase]
    let verify = try sandbox.run(["verify"], environment: withNew)
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertEqual(try sandbox.run(["verify"]).status, 5, "the old passphrase no longer opens the vault")
    let show = try sandbox.run(["show", "RACED", "--json"])
    let object = try JSONSerialization.jsonObject(with: Data(show.stdout)) as? [String: Any]
    XCTAssertEqual(Set((object?["models"] as? [String]) ?? []), Set(linked.value), "every reported link is kept")
    XCTAssertEqual(try sandbox.run(["get", "RACED"], environment: withNew).stdoutText, value)
  }

  /// Several `vault init` at once on one path: exactly one creates the vault, the others are
  /// told it exists (exit 4), and the vault that is left opens.
  func testConcurrentInitsCreateOneVault() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "60"
    let shared = Robust.Unchecked(value: sandbox)
    let statuses = Robust.Locked([Int32]())
    Robust.onThreads(4) { _ in
      let result = try? shared.value.run(["init"] + TestKDF.options)
      statuses.update { $0.append(result?.status ?? -1) }
    }
    XCTAssertEqual(statuses.value.sorted(), [0, 4, 4, 4])
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.stdoutText, "ok: 0 provider keys verified, generation 1\n", verify.stderrText)
    XCTAssertEqual(Robust.temporaryFiles(besides: sandbox.vaultPath), [])
  }

  /// Takes the vault's write lock in this process, as another `vault` would.
  private func holdLock(_ sandbox: VaultSandbox) throws -> Int32 {
    let descriptor = open(sandbox.vaultPath + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw POSIXError(.EIO) }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      close(descriptor)
      throw POSIXError(.EBUSY)
    }
    return descriptor
  }

  func testWritersReportBusyWhileTheLockIsHeldAndReadersCarryOn() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = Robust.fakeSecret()
    XCTAssertEqual(try sandbox.add("HELD", value: value).status, 0)
    let hash = Robust.hexSHA256(try sandbox.readVault())
    let lock = try holdLock(sandbox)
    defer { close(lock) }

    let newValue = Robust.fakeSecret()
    let writes: [([String], [UInt8]?)] = [
      (["add", "OTHER"], Array((newValue + "\n").utf8)),
      (["link", "HELD", "--model", "gpt-4o"], nil),
      (["edit", "HELD", "--value"], Array((newValue + "\n").utf8)),
      (["rm", "HELD", "--yes"], nil),
    ]
    for (arguments, stdin) in writes {
      let result = try sandbox.run(arguments, stdin: stdin, environment: ["VAULT_LOCK_TIMEOUT": "0.2"])
      XCTAssertEqual(result.status, 8, "\(arguments): \(result.stderrText)")
      XCTAssertTrue(result.stderrText.contains("busy"), result.stderrText)
      XCTAssertEqual(Robust.errorLineCount(result), 1, result.stderrText)
      XCTAssertFalse(contains(result.allOutput, Array(value.utf8)))
      XCTAssertFalse(contains(result.allOutput, Array(newValue.utf8)))
      XCTAssertEqual(Robust.hexSHA256(try sandbox.readVault()), hash, "\(arguments) changed the file")
    }
    // Readers take no lock.
    let get = try sandbox.run(["get", "HELD"])
    XCTAssertEqual(get.status, 0, get.stderrText)
    XCTAssertEqual(get.stdoutText, value)
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
  }

  func testAWriterWaitsForTheLockAndThenSucceeds() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = Robust.fakeSecret()
    let lock = try holdLock(sandbox)
    let waiting = try sandbox.start(
      ["add", "WAITED"], stdin: Array((value + "\n").utf8), environment: ["VAULT_LOCK_TIMEOUT": "60"])
    usleep(300_000)
    close(lock)
    let result = try waiting.wait()
    XCTAssertEqual(result.status, 0, result.stderrText)
    let get = try sandbox.run(["get", "WAITED"])
    XCTAssertEqual(get.stdoutText, value)
  }

  /// The temporaries beside the sandbox's vault, once there is one (polled every 2 ms, for at
  /// most 20 s): a save with a passphrase file begins its temporary beside scrypt.
  private func temporaryOnceBegun(_ sandbox: VaultSandbox) -> [String] {
    let deadline = Date().addingTimeInterval(20)
    var begun = Robust.temporaryFiles(besides: sandbox.vaultPath)
    while begun.isEmpty, Date() < deadline {
      usleep(2_000)
      begun = Robust.temporaryFiles(besides: sandbox.vaultPath)
    }
    return begun
  }

  func testAWriterKilledWhileItWaitsLeavesTheVaultAndTheNextSaveRemovesItsTemporary() throws {
    // With a passphrase file a save begins its temporary beside scrypt, before it takes the lock
    // (PreparedReplacement). Killed while it waits for the lock, it leaves the vault as it was;
    // its temporary stays until a save finds its writer gone.
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("FIRST", value: Robust.fakeSecret()).status, 0)
    let before = try sandbox.readVault()
    let lock = try holdLock(sandbox)
    let waiting = try sandbox.start(
      ["add", "KILLED"], stdin: Array((Robust.fakeSecret() + "\n").utf8), environment: ["VAULT_LOCK_TIMEOUT": "60"])
    let begun = temporaryOnceBegun(sandbox)
    XCTAssertEqual(begun.count, 1, "the temporary begun before the lock")
    waiting.kill()
    _ = try? waiting.wait()
    close(lock)
    XCTAssertEqual(try sandbox.readVault(), before)
    XCTAssertEqual(Robust.temporaryFiles(besides: sandbox.vaultPath), begun, "left by the killed writer")
    XCTAssertEqual(try sandbox.add("NEXT", value: Robust.fakeSecret()).status, 0)
    XCTAssertEqual(Robust.temporaryFiles(besides: sandbox.vaultPath), [])
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertTrue(verify.stdoutText.hasPrefix("ok: 2 provider keys"), verify.stdoutText)
  }

  func testACtrlCOrSIGTERMDuringScryptRemovesTheTemporaryBegunBesideIt() throws {
    // The temporary a save begins beside scrypt is removed when SIGINT or SIGTERM stops it there,
    // and the process still dies by that signal. N=2^17 gives the signal half a second to land
    // in scrypt.
    for signal in [SIGINT, SIGTERM] {
      let sandbox = try VaultSandbox()
      let created = try sandbox.run(["init"] + TestKDF.costOptions(17))
      XCTAssertEqual(created.status, 0, created.stderrText)
      let before = try sandbox.readVault()
      let saving = try sandbox.start(["add", "STOPPED"], stdin: Array((Robust.fakeSecret() + "\n").utf8))
      XCTAssertEqual(temporaryOnceBegun(sandbox).count, 1, "the temporary begun beside scrypt")
      saving.kill(signal)
      let result = try saving.wait()
      XCTAssertEqual(result.status, 128 + signal, result.stderrText)
      XCTAssertEqual(Robust.temporaryFiles(besides: sandbox.vaultPath), [], "signal \(signal)")
      XCTAssertEqual(try sandbox.readVault(), before)
    }
  }
}
