import Foundation
import VaultCore
import VaultCrypto
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 10, point 2: `vault unlock` asks once, and later commands neither prompt nor need a
/// passphrase source until `vault lock`, the session's end, or a changed passphrase. Both
/// backends run for real: the kernel keyring (this machine allows keyctl) and the unlock agent
/// (pinned with VAULT_UNLOCK_BACKEND=agent, its socket in the sandbox's own runtime directory).
final class UnlockSessionTests: XCTestCase {
  /// A sandbox with a vault holding one key, a private XDG_RUNTIME_DIR, and `backend` pinned.
  private func sandbox(backend: String) throws -> VaultSandbox {
    let sandbox = try VaultSandbox()
    let runtime = sandbox.root + "/run"
    XCTAssertEqual(mkdir(runtime, 0o700), 0)
    sandbox.environment["XDG_RUNTIME_DIR"] = runtime
    sandbox.environment["VAULT_UNLOCK_BACKEND"] = backend
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: "sk-proj-session-test-value-0001", ["--provider", "openai"])
    addTeardownBlock { _ = try? sandbox.run(["lock"]) }
    if backend == "keyring" {
      // A seccomp profile may refuse keyctl (the agent's tests still run there).
      let probe = try sandbox.run(["unlock"])
      if probe.stderrText.contains("the kernel keyring refused") { throw XCTSkip("keyctl is refused here") }
      XCTAssertEqual(probe.status, 0, probe.stderrText)
      XCTAssertEqual(try sandbox.run(["lock"]).status, 0)
    }
    return sandbox
  }

  /// Every variable that could supply a passphrase, removed: only a session can open the vault.
  private let noPassphrase: [String: String?] = ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": nil]

  private func assertSessionWorks(_ sandbox: VaultSandbox, backendText: String) throws {
    // Before: no passphrase source, no terminal, so a read fails as documented.
    assertFailure(try sandbox.run(["get", "MY_API"], environment: noPassphrase), 64, mentioning: ["passphrase"])
    XCTAssertTrue(try sandbox.run(["status"]).stdoutText.hasSuffix(": locked\n"))

    let unlock = try sandbox.run(["unlock", "--for", "10m"])
    XCTAssertEqual(unlock.status, 0, unlock.stderrText)
    XCTAssertTrue(unlock.stderrText.contains("vault: unlocked "), unlock.stderrText)
    XCTAssertTrue(unlock.stderrText.contains(backendText), unlock.stderrText)

    let status = try sandbox.run(["status"])
    XCTAssertTrue(status.stdoutText.contains(": unlocked until "), status.stdoutText)
    XCTAssertTrue(status.stdoutText.contains(backendText), status.stdoutText)
    let json =
      try JSONSerialization.jsonObject(with: Data(try sandbox.run(["status", "--json"]).stdout)) as? [String: Any]
    XCTAssertEqual(json?["unlocked"] as? Bool, true)
    // The expiry is the one asked for: ten minutes after the unlock, give or take the run.
    let expires = Timestamp(rfc3339: json?["expires"] as? String ?? "")?.secondsSinceEpoch ?? 0
    let now = Timestamp.now().secondsSinceEpoch
    XCTAssertTrue((now + 500...now + 601).contains(expires), "expires \(expires), now \(now)")

    // Reads, writes and runs: no passphrase source at all.
    let get = try sandbox.run(["get", "MY_API"], environment: noPassphrase)
    XCTAssertEqual(get.status, 0, get.stderrText)
    XCTAssertEqual(get.stdoutText, "sk-proj-session-test-value-0001")
    let add = try sandbox.run(
      ["add", "SECOND", "--provider", "anthropic"], stdin: Array("sk-ant-session-test-0002\n".utf8),
      environment: noPassphrase)
    XCTAssertEqual(add.status, 0, add.stderrText)
    let run = try sandbox.run(
      ["run", "--", "/bin/sh", "-c", "printf %s \"$ANTHROPIC_API_KEY\""], environment: noPassphrase)
    XCTAssertEqual(run.status, 0, run.stderrText)
    XCTAssertEqual(run.stdoutText, "sk-ant-session-test-0002")
    XCTAssertEqual(try sandbox.run(["verify"], environment: noPassphrase).status, 0)

    // `lock` ends it at once.
    let lock = try sandbox.run(["lock"])
    XCTAssertEqual(lock.status, 0, lock.stderrText)
    XCTAssertEqual(lock.stderrText, "vault: locked \(sandbox.vaultPath)\n")
    assertFailure(try sandbox.run(["get", "MY_API"], environment: noPassphrase), 64, mentioning: ["passphrase"])
    XCTAssertTrue(try sandbox.run(["status"]).stdoutText.hasSuffix(": locked\n"))
    XCTAssertEqual(
      try sandbox.run(["lock"]).stderrText, "vault: \(sandbox.vaultPath) was not unlocked in this login session\n")
  }

  func testTheKernelKeyringHoldsASessionUntilLock() throws {
    let sandbox = try sandbox(backend: "keyring")
    try assertSessionWorks(sandbox, backendText: "the kernel keyring of this login session")
    // The keyring's copy is sealed under a 0600 key file of this user: another uid that shares
    // the session keyring (su, runuser) reads only ciphertext. Without the file, no session.
    XCTAssertEqual(try sandbox.run(["unlock"]).status, 0)
    let keyFile = sandbox.root + "/run/llm-vault/session.key"
    var status = stat()
    XCTAssertEqual(lstat(keyFile, &status), 0)
    XCTAssertEqual(status.st_mode & 0o777, 0o600)
    XCTAssertEqual(status.st_size, 32)
    XCTAssertEqual(unlink(keyFile), 0)
    assertFailure(try sandbox.run(["get", "MY_API"], environment: noPassphrase), 64, mentioning: ["passphrase"])
  }

  func testTheUnlockAgentHoldsASessionBehindAPrivateSocketUntilLock() throws {
    let sandbox = try sandbox(backend: "agent")
    XCTAssertEqual(try sandbox.run(["unlock"]).status, 0)
    let sockets = try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/run/llm-vault")
    XCTAssertEqual(sockets.count, 1, "\(sockets)")
    var status = stat()
    XCTAssertEqual(lstat(sandbox.root + "/run/llm-vault/" + (sockets.first ?? ""), &status), 0)
    XCTAssertEqual(status.st_mode & S_IFMT, S_IFSOCK)
    XCTAssertEqual(status.st_mode & 0o777, 0o600)
    XCTAssertEqual(lstat(sandbox.root + "/run/llm-vault", &status), 0)
    XCTAssertEqual(status.st_mode & 0o777, 0o700)
    XCTAssertEqual(try sandbox.run(["lock"]).status, 0)
    // The agent removed its socket as it left.
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/run/llm-vault"), [])
    try assertSessionWorks(sandbox, backendText: "an unlock agent process")
  }

  func testChangingThePassphraseEndsTheSession() throws {
    for backend in ["keyring", "agent"] {
      let sandbox = try sandbox(backend: backend)
      XCTAssertEqual(try sandbox.run(["unlock"]).status, 0)
      try writeFile(sandbox.root + "/new", Array("a different long passphrase".utf8), mode: 0o600)
      let passwd = try sandbox.run(["passwd"], environment: ["VAULT_NEW_PASSPHRASE_FILE": sandbox.root + "/new"])
      XCTAssertEqual(passwd.status, 0, passwd.stderrText)
      XCTAssertTrue(passwd.stderrText.contains("the unlock session ended"), backend + ": " + passwd.stderrText)
      assertFailure(try sandbox.run(["get", "MY_API"], environment: noPassphrase), 64, mentioning: ["passphrase"])
    }
  }

  /// A session started elsewhere (another login session, out of this process's reach) stops
  /// opening the file once the passphrase changes: its binding is the old wrapped master key.
  func testASessionOfAnOlderPassphraseNoLongerOpensTheFile() throws {
    let sandbox = try sandbox(backend: "agent")
    XCTAssertEqual(try sandbox.run(["unlock"]).status, 0)
    let before = try sandbox.readVault()
    try writeFile(sandbox.root + "/new", Array("a different long passphrase".utf8), mode: 0o600)
    // passwd run with the keyring pinned cannot reach the agent, as from another login session.
    let passwd = try sandbox.run(
      ["passwd"],
      environment: ["VAULT_NEW_PASSPHRASE_FILE": sandbox.root + "/new", "VAULT_UNLOCK_BACKEND": "keyring"])
    XCTAssertEqual(passwd.status, 0, passwd.stderrText)
    XCTAssertNotEqual(try sandbox.readVault(), before)
    let status = try sandbox.run(["status"])
    XCTAssertTrue(
      status.stdoutText.contains("locked (its session ended: the passphrase or the members changed since)"),
      status.stdoutText)
    assertFailure(try sandbox.run(["get", "MY_API"], environment: noPassphrase), 64, mentioning: ["passphrase"])
  }

  /// The session's key is checked against the whole file's MAC like a passphrase's: an edit
  /// made while unlocked is damage (exit 6), and nothing is read or written.
  func testAFileEditedDuringTheSessionFailsItsMAC() throws {
    for backend in ["keyring", "agent"] {
      let sandbox = try sandbox(backend: backend)
      XCTAssertEqual(try sandbox.run(["unlock"]).status, 0)
      var text = String(decoding: try sandbox.readVault(), as: UTF8.self)
      text = text.replacingOccurrences(of: "\"provider\":\"openai\"", with: "\"provider\":\"mistral\"")
      try writeFile(sandbox.vaultPath, Array(text.utf8), mode: 0o600)
      let edited = try sandbox.readVault()
      assertFailure(try sandbox.run(["get", "MY_API"], environment: noPassphrase), 6)
      let add = try sandbox.run(["add", "OTHER"], stdin: Array("x-value-0003\n".utf8), environment: noPassphrase)
      assertFailure(add, 6)
      XCTAssertEqual(try sandbox.readVault(), edited, backend)
    }
  }

  func testUnlockRefusesAWrongPassphraseAndBadDurations() throws {
    let sandbox = try sandbox(backend: "keyring")
    try writeFile(sandbox.root + "/wrong", Array("not the passphrase".utf8), mode: 0o600)
    assertFailure(try sandbox.run(["unlock"], environment: ["VAULT_PASSPHRASE_FILE": sandbox.root + "/wrong"]), 5)
    XCTAssertTrue(try sandbox.run(["status"]).stdoutText.hasSuffix(": locked\n"))
    for duration in ["30s", "25h", "2d"] {
      assertFailure(try sandbox.run(["unlock", "--for", duration]), 65, mentioning: ["from 1 minute to 24 hours"])
    }
    for duration in ["abc", "0m", "15"] {
      assertFailure(try sandbox.run(["unlock", "--for", duration]), 65, mentioning: ["invalid duration '\(duration)'"])
    }
    XCTAssertTrue(try sandbox.run(["status"]).stdoutText.hasSuffix(": locked\n"))
    assertFailure(
      try sandbox.run(["unlock"], environment: ["VAULT_UNLOCK_BACKEND": "tmpfs"]), 64, mentioning: ["keyring"])
    XCTAssertEqual(try sandbox.run(["unlock", "--for", "24h"]).status, 0)
  }

  /// The agent ends by itself when the session's time is up: started here with a record that
  /// expires in two seconds (`vault unlock` allows a minute at least), it removes its socket
  /// and exits, and the vault is locked again.
  func testTheAgentExitsAtTheEndOfTheSession() throws {
    let sandbox = try sandbox(backend: "agent")
    let store = VaultStore(path: sandbox.vaultPath)
    let locked = try store.read()
    let unlocked = try store.unlock(locked, passphrase: { SecretBytes(copying: Array(VaultSandbox.passphrase.utf8)) })
    let expires = Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch + 2)
    let record = try unlocked.keyring.sessionRecord(for: locked.document, access: .passphrase, expires: expires)
    let directory = sandbox.root + "/run/llm-vault"
    XCTAssertEqual(mkdir(directory, 0o700), 0)
    let socket = directory + "/" + Hex.encode(locked.document.header.id) + ".sock"
    let agent = try sandbox.start(["__unlock-agent", socket], stdin: record.encoded().copyBytes())
    // The agent serves once its socket exists; asked before that, status says "locked" (a busy
    // fresh-clone .ci/run asked before the agent had started).
    XCTAssertTrue(RunKit.waitFor(socket), "the agent made no socket")
    XCTAssertTrue(try sandbox.run(["status"]).stdoutText.contains(": unlocked until "))
    XCTAssertEqual(try sandbox.run(["get", "MY_API"], environment: noPassphrase).status, 0)
    let ended = try agent.wait()
    XCTAssertEqual(ended.status, 0)
    XCTAssertEqual(ended.stdoutText, "ready\n")
    XCTAssertFalse(FileManager.default.fileExists(atPath: socket))
    XCTAssertTrue(try sandbox.run(["status"]).stdoutText.hasSuffix(": locked\n"))
  }

  /// The agent refuses a socket directory anyone else could use.
  func testTheAgentRefusesAnOpenRuntimeDirectory() throws {
    let sandbox = try sandbox(backend: "agent")
    XCTAssertEqual(mkdir(sandbox.root + "/run/llm-vault", 0o755), 0)
    XCTAssertEqual(chmod(sandbox.root + "/run/llm-vault", 0o755), 0)
    assertFailure(try sandbox.run(["unlock"]), 9, mentioning: ["mode 0700"])
  }

  /// `vault doctor` says the vault is unlocked (a note: exit 0) and flags a session of an older
  /// passphrase that lingers (a finding: exit 1).
  func testDoctorReportsTheSession() throws {
    let sandbox = try sandbox(backend: "agent")
    XCTAssertEqual(try sandbox.run(["doctor"]).stdoutText, "vault doctor: all checks passed\n")
    XCTAssertEqual(try sandbox.run(["unlock"]).status, 0)
    let unlocked = try sandbox.run(["doctor"])
    XCTAssertEqual(unlocked.status, 0, unlocked.stdoutText)
    XCTAssertTrue(unlocked.stdoutText.hasPrefix("note: the vault is unlocked until "), unlocked.stdoutText)
    try writeFile(sandbox.root + "/new", Array("a different long passphrase".utf8), mode: 0o600)
    let passwd = try sandbox.run(
      ["passwd"],
      environment: ["VAULT_NEW_PASSPHRASE_FILE": sandbox.root + "/new", "VAULT_UNLOCK_BACKEND": "keyring"])
    XCTAssertEqual(passwd.status, 0, passwd.stderrText)
    let stale = try sandbox.run(["doctor"])
    XCTAssertEqual(stale.status, 1, stale.stdoutText)
    XCTAssertTrue(stale.stdoutText.contains("warning: a session of an older passphrase"), stale.stdoutText)
  }
}
