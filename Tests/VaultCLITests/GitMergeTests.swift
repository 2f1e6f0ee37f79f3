import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 12, the git half, end to end with real git: a bare repository and two clones (alice and
/// bob), each with its own HOME (so its own rollback records) and git identity, the vault file
/// committed, `vault git-setup` run in each. Both hold the passphrase; the members test adds
/// their own identities.
final class GitMergeTests: XCTestCase {
  static let git = "/usr/bin/git"

  /// One person's clone of the team repository.
  final class Clone {
    let name: String
    let sandbox: VaultSandbox
    var repo: String { sandbox.root + "/repo" }
    var vaultPath: String { repo + "/vault.json" }

    init(_ name: String, origin: String) throws {
      self.name = name
      sandbox = try VaultSandbox()
      sandbox.environment["VAULT_FILE"] = sandbox.root + "/repo/vault.json"
      sandbox.environment["GIT_CONFIG_NOSYSTEM"] = "1"
      for role in ["AUTHOR", "COMMITTER"] {
        sandbox.environment["GIT_\(role)_NAME"] = name
        sandbox.environment["GIT_\(role)_EMAIL"] = "\(name)@example.test"
      }
      let clone = try Self.runGit(["clone", "-q", origin, repo], in: sandbox)
      XCTAssertEqual(clone.status, 0, clone.stderrText)
    }

    static func runGit(_ arguments: [String], in sandbox: VaultSandbox) throws -> RunResult {
      try RunningVault(
        executable: GitMergeTests.git, arguments: ["-c", "protocol.file.allow=always"] + arguments,
        environment: sandbox.environment, stdin: nil, scratch: sandbox.root
      ).wait()
    }

    /// `git -C repo arguments...`.
    @discardableResult
    func git(_ arguments: [String], expecting status: Int32? = 0, file: StaticString = #filePath, line: UInt = #line)
      throws -> RunResult
    {
      let result = try Self.runGit(["-C", repo] + arguments, in: sandbox)
      if let status {
        XCTAssertEqual(result.status, status, "\(name): git \(arguments): \(result.stderrText)", file: file, line: line)
      }
      return result
    }

    @discardableResult
    func vault(
      _ arguments: [String], stdin: String? = nil, environment: [String: String?] = [:], file: StaticString = #filePath,
      line: UInt = #line
    ) throws -> RunResult {
      let result = try sandbox.run(arguments, stdin: stdin.map { Array(($0 + "\n").utf8) }, environment: environment)
      XCTAssertEqual(result.status, 0, "\(name): vault \(arguments): \(result.stderrText)", file: file, line: line)
      return result
    }

    func commit(_ message: String) throws {
      try git(["add", "-A"])
      try git(["commit", "-q", "-m", message])
    }

    func keyNames() throws -> [String] {
      try vault(["list", "--json"]).stdoutText.split(separator: "\n").compactMap { line in
        guard let start = line.range(of: "{\"name\":\"") else { return nil }
        return String(line[start.upperBound...].prefix { $0 != "\"" })
      }
    }
  }

  private var root = ""
  private var alice: Clone!
  private var bob: Clone!
  /// An agent key alice created before the fork, scoped to every key.
  private var token = ""
  private var values: [String] = []

  override func setUpWithError() throws {
    guard access(Self.git, X_OK) == 0 else { throw XCTSkip("git is not installed at \(Self.git)") }
    var template = Array((NSTemporaryDirectory() + "vault-git-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    root = String(cString: made)
    let origin = root + "/origin.git"
    let bare = try VaultSandbox.runTool([Self.git, "init", "-q", "--bare", "-b", "main", origin])
    XCTAssertEqual(bare.status, 0, bare.stderrText)

    alice = try Clone("alice", origin: origin)
    try alice.git(["symbolic-ref", "HEAD", "refs/heads/main"])
    try alice.vault(["init"] + TestKDF.options)
    try add(alice, "SHARED_KEY", ["--provider", "openai"])
    token = try alice.sandbox.agentCreate("ci", ["--all"])
    let setup = try alice.vault(["git-setup"])
    XCTAssertTrue(
      setup.stdoutText.contains(".gitattributes: added '/vault.json merge=llm-vault diff=llm-vault'"), setup.stdoutText)
    try alice.commit("a team vault")
    try alice.git(["push", "-q", "origin", "main"])

    bob = try Clone("bob", origin: origin)
    try bob.vault(["git-setup"])
  }

  override func tearDown() {
    alice = nil
    bob = nil
    if !root.isEmpty { _ = try? FileManager.default.removeItem(atPath: root) }
  }

  /// Adds `name` in `clone` with a fresh fake value, remembered for the leak checks.
  @discardableResult
  private func add(_ clone: Clone, _ name: String, _ options: [String] = []) throws -> String {
    let value = fakeSecret("sk-git-\(clone.name)-")
    values.append(value)
    try clone.vault(["add", name] + options, stdin: value)
    return value
  }

  private func assertNoValue(_ result: RunResult, file: StaticString = #filePath, line: UInt = #line) {
    for value in values {
      XCTAssertFalse(contains(result.allOutput, Array(value.utf8)), "a value was printed", file: file, line: line)
    }
  }

  func testGitSetupWritesTheAttributesAndDriversOnceAndRefusesAVaultOutsideTheTree() throws {
    let attributes = String(decoding: try readFile(bob.repo + "/.gitattributes"), as: UTF8.self)
    XCTAssertEqual(attributes, "/vault.json merge=llm-vault diff=llm-vault\n")
    // This clone's own files (lock, usage state, a save's temporary file) are ignored.
    let ignore = String(decoding: try readFile(bob.repo + "/.gitignore"), as: UTF8.self)
    XCTAssertEqual(ignore, "/vault.json.lock\n/vault.json.state*\n/.vault.json.tmp-*\n")
    let again = try bob.vault(["git-setup"])
    XCTAssertTrue(again.stdoutText.contains(".gitattributes: already has"), again.stdoutText)
    XCTAssertTrue(again.stdoutText.contains(".gitignore: already ignores"), again.stdoutText)
    XCTAssertEqual(String(decoding: try readFile(bob.repo + "/.gitignore"), as: UTF8.self), ignore)
    XCTAssertEqual(String(decoding: try readFile(bob.repo + "/.gitattributes"), as: UTF8.self), attributes)
    let driver = try bob.git(["config", "--local", "merge.llm-vault.driver"]).stdoutText
    XCTAssertEqual(driver, resolvedPath(VaultSandbox.binary) + " merge-driver %O %A %B %P\n")
    let textconv = try bob.git(["config", "--local", "diff.llm-vault.textconv"]).stdoutText
    XCTAssertEqual(textconv, resolvedPath(VaultSandbox.binary) + " diff-text\n")

    let outside = try bob.sandbox.run(["git-setup", "--file", alice.sandbox.root + "/passphrase"])
    assertFailure(outside, 65, mentioning: ["not inside a git work tree"])
  }

  func testKeysAddedOnBothSidesMergeThroughTheDriverAndEveryoneSeesEveryKey() throws {
    let aliceValue = try add(alice, "ALICE_KEY", ["--provider", "groq"])
    try alice.commit("alice adds a key")
    try alice.git(["push", "-q", "origin", "main"])
    let bobValue = try add(bob, "BOB_KEY", ["--provider", "anthropic"])
    try bob.commit("bob adds a key")

    let pull = try bob.git(["pull", "-q", "--no-rebase", "origin", "main"])
    XCTAssertTrue(pull.stderrText.contains("vault: merged vault.json"), pull.stderrText)
    assertNoValue(pull)
    XCTAssertEqual(try bob.git(["status", "--porcelain"]).stdoutText, "")
    try bob.git(["push", "-q", "origin", "main"])
    try alice.git(["pull", "-q", "--no-rebase", "origin", "main"])

    for clone in [alice!, bob!] {
      XCTAssertEqual(try clone.keyNames(), ["SHARED_KEY", "BOB_KEY", "ALICE_KEY"], clone.name)
      XCTAssertTrue(try clone.vault(["verify"]).stdoutText.hasPrefix("ok: 3 provider keys verified"))
      XCTAssertEqual(try clone.vault(["get", "ALICE_KEY"]).stdoutText, aliceValue)
      XCTAssertEqual(try clone.vault(["get", "BOB_KEY"]).stdoutText, bobValue)
    }
  }

  func testOneKeyEditedOnBothSidesIsAConflictNamingIt() throws {
    let aliceValue = fakeSecret("sk-git-alice-edit-")
    let bobValue = fakeSecret("sk-git-bob-edit-")
    values += [aliceValue, bobValue]
    try alice.vault(["edit", "SHARED_KEY", "--value"], stdin: aliceValue)
    try alice.commit("alice rotates the shared key")
    try alice.git(["push", "-q", "origin", "main"])
    try bob.vault(["edit", "SHARED_KEY", "--value"], stdin: bobValue)
    try add(bob, "BOB_KEY")
    try bob.commit("bob rotates it too")

    let pull = try bob.git(["pull", "--no-rebase", "origin", "main"], expecting: nil)
    XCTAssertNotEqual(pull.status, 0)
    let output = pull.stdoutText + pull.stderrText
    XCTAssertTrue(output.contains("vault: conflict: provider key SHARED_KEY was changed on both sides"), output)
    XCTAssertTrue(output.contains("CONFLICT"), output)
    assertNoValue(pull)
    XCTAssertEqual(try bob.git(["status", "--porcelain"]).stdoutText, "UU vault.json\n")
    // What git left is a valid vault holding bob's version of the conflicting key.
    XCTAssertEqual(try bob.vault(["get", "SHARED_KEY"]).stdoutText, bobValue)
    XCTAssertEqual(try bob.keyNames(), ["SHARED_KEY", "BOB_KEY"])
    try bob.vault(["verify"])
    // Resolved as the README says: keep (or edit) with vault, then git add.
    try bob.commit("merge: keep bob's value")
    try bob.git(["push", "-q", "origin", "main"])
    try alice.git(["pull", "-q", "--no-rebase", "origin", "main"])
    XCTAssertEqual(try alice.vault(["get", "SHARED_KEY"]).stdoutText, bobValue)
  }

  func testAnAgentKeyRevokedByBobCannotReadTheKeyAliceAdded() throws {
    XCTAssertEqual(
      try alice.sandbox.run(["get", "SHARED_KEY"], environment: ["VAULT_AGENT_KEY": token]).status, 0)
    try bob.vault(["agent-key", "revoke", "ci", "--yes"])
    try bob.commit("bob revokes ci")
    try bob.git(["push", "-q", "origin", "main"])
    try add(alice, "ALICE_KEY", ["--provider", "groq"])
    try alice.commit("alice adds a key")
    // Before the merge, alice's copy grants the token her new key.
    XCTAssertEqual(try alice.sandbox.run(["get", "ALICE_KEY"], environment: ["VAULT_AGENT_KEY": token]).status, 0)
    let before = try valueField(of: "ALICE_KEY", in: alice.vaultPath)

    let pull = try alice.git(["pull", "-q", "--no-rebase", "origin", "main"])
    XCTAssertTrue(pull.stderrText.contains("vault: new data keys for"), pull.stderrText)
    let run = try alice.sandbox.run(
      ["run", "--key", "ALICE_KEY", "--", "/bin/true"], environment: ["VAULT_AGENT_KEY": token])
    assertFailure(run, 11, mentioning: ["revoked"])
    assertFailure(
      try alice.sandbox.run(["get", "ALICE_KEY"], environment: ["VAULT_AGENT_KEY": token]), 11,
      mentioning: ["revoked"])
    // Re-keyed: the data key the token could unwrap from alice's copy opens nothing now.
    XCTAssertNotEqual(try valueField(of: "ALICE_KEY", in: alice.vaultPath), before)
    XCTAssertEqual(try alice.keyNames(), ["SHARED_KEY", "ALICE_KEY"])
    try alice.vault(["verify"])
    let list = try alice.vault(["agent-key", "list"]).stdoutText
    XCTAssertTrue(list.contains("Revoked"), list)
  }

  func testGitDiffAndLogShowMaskedTextAndNeverAValue() throws {
    let value = try add(alice, "NEW_KEY", ["--provider", "openai", "--model", "gpt-4o"])
    let diff = try alice.git(["diff"])
    XCTAssertTrue(
      diff.stdoutText.contains("+key NEW_KEY (openai) \(expectedMask(value)) models=gpt-4o env=- updated="),
      diff.stdoutText)
    XCTAssertTrue(diff.stdoutText.contains("-vault "), diff.stdoutText)
    assertNoValue(diff)
    try alice.commit("alice adds NEW_KEY")
    try alice.vault(["agent-key", "revoke", "ci", "--yes"])
    try alice.commit("alice revokes ci")
    let log = try alice.git(["log", "-p"])
    XCTAssertTrue(log.stdoutText.contains("+agent ci revoked scope=all-keys"), log.stdoutText)
    XCTAssertTrue(log.stdoutText.contains("+key SHARED_KEY (openai) "), log.stdoutText)
    XCTAssertFalse(log.stdoutText.contains("\"value\":"), "ciphertext in git log -p")
    assertNoValue(log)

    // A damaged file is one line, not a failed diff.
    try writeFile(alice.vaultPath, Array("{\"format\":\"llm-vault\",\"version\":2,\n".utf8), mode: 0o600)
    let damaged = try alice.git(["diff"])
    XCTAssertTrue(damaged.stdoutText.contains("+(not a readable vault file: "), damaged.stdoutText)
  }

  func testVersionsOfTwoDifferentVaultsAreRefusedAndOursIsLeftAsItWas() throws {
    let stranger = try VaultSandbox()
    try stranger.initVault()
    let ours = try readFile(alice.vaultPath)
    let result = try alice.sandbox.run([
      "merge-driver", alice.vaultPath, alice.vaultPath, stranger.vaultPath, "vault.json",
    ])
    assertFailure(result, 1, mentioning: ["cannot merge", "not the same vault"])
    XCTAssertEqual(try readFile(alice.vaultPath), ours)
  }

  /// The base64 of `name`'s `value` member in the file at `path`.
  private func valueField(of name: String, in path: String) throws -> String {
    let text = String(decoding: try readFile(path), as: UTF8.self)
    let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("\"name\":\"\(name)\"") })
    let start = try XCTUnwrap(line.range(of: "\"value\":\""))
    return String(line[start.upperBound...].prefix { $0 != "\"" })
  }

  /// Members across clones. alice removes carol while bob adds a key: bob's pull merges through
  /// the driver onto alice's new master key, so carol's identity opens nothing in the merged
  /// head, not even bob's key, which bob sealed under the master key carol knew. Then alice
  /// removes bob: his identity opens nothing in the new head, while the older commits, as git
  /// history does, still open with it.
  func testRemovedMembersOpenNothingInTheNewHeadWhileHistoryKeepsWhatItHeld() throws {
    let noPassphrase: [String: String?] = ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": nil]
    var recipients: [String: String] = [:]
    for clone in [alice!, bob!] {
      recipients[clone.name] = try clone.vault(["identity", "new"]).stdoutText
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let carolIdentity = root + "/carol.identity"
    let carol = try alice.sandbox.run(["identity", "new", "--out", carolIdentity])
    XCTAssertEqual(carol.status, 0, carol.stderrText)
    for (name, recipient) in [
      ("alice", recipients["alice"]!), ("bob", recipients["bob"]!),
      ("carol", carol.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)),
    ] {
      try alice.vault(["member", "add", name, recipient])
    }
    try alice.commit("members")
    try alice.git(["push", "-q", "origin", "main"])
    try bob.git(["pull", "-q", "--no-rebase", "origin", "main"])

    try alice.vault(["member", "rm", "carol", "--yes"])
    try alice.commit("carol leaves")
    try alice.git(["push", "-q", "origin", "main"])
    let bobValue = fakeSecret("sk-git-bob-member-")
    values.append(bobValue)
    try bob.vault(["add", "BOB_KEY"], stdin: bobValue, environment: noPassphrase)
    try bob.commit("bob adds a key")
    let pull = try bob.git(["pull", "-q", "--no-rebase", "origin", "main"])
    XCTAssertTrue(pull.stderrText.contains("vault: merged vault.json"), pull.stderrText)
    assertNoValue(pull)
    XCTAssertEqual(try bob.vault(["get", "BOB_KEY"], environment: noPassphrase).stdoutText, bobValue)
    // carol's identity alone: a HOME without bob's default identity file.
    let asCarol = noPassphrase.merging(["VAULT_IDENTITY": carolIdentity, "HOME": root]) { $1 }
    let carolReads = try bob.sandbox.run(["get", "BOB_KEY"], environment: asCarol)
    XCTAssertEqual(carolReads.status, 5, carolReads.stderrText)
    XCTAssertEqual(try bob.vault(["member", "list"]).stdoutText.split(separator: "\n").count, 3, "header, alice, bob")
    try bob.git(["push", "-q", "origin", "main"])

    try alice.git(["pull", "-q", "--no-rebase", "origin", "main"])
    let removal = try alice.vault(["member", "rm", "bob", "--yes"])
    XCTAssertTrue(removal.stderrText.contains("rotate them at their providers"), removal.stderrText)
    try alice.commit("bob leaves")
    try alice.git(["push", "-q", "origin", "main"])
    try bob.git(["pull", "-q", "--no-rebase", "origin", "main"])
    let bobNow = try bob.sandbox.run(["get", "BOB_KEY"], environment: noPassphrase)
    XCTAssertEqual(bobNow.status, 5, bobNow.stderrText)
    // History keeps what it held: the commit before the removal still opens with bob's identity.
    let old = try bob.git(["show", "HEAD~1:vault.json"]).stdout
    try writeFile(bob.sandbox.root + "/old.json", old, mode: 0o600)
    let history = try bob.sandbox.run(
      ["get", "BOB_KEY", "--file", bob.sandbox.root + "/old.json"], environment: noPassphrase)
    XCTAssertEqual(history.stdoutText, bobValue, history.stderrText)
  }
}
