import Foundation
import VaultCore
import VaultCrypto
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Findings of an outside security review (branch `review`). Each test states what the
/// documentation promises and fails while the product does otherwise; none of them changes
/// production code.
final class ReviewFindingsTests: XCTestCase {
  // MARK: Helpers

  private func home(_ sandbox: VaultSandbox, _ person: String) -> String { sandbox.root + "/home-" + person }

  /// `vault identity new` in `person`'s own HOME; their recipient.
  private func newIdentity(_ sandbox: VaultSandbox, _ person: String) throws -> String {
    let created = try sandbox.run(["identity", "new"], environment: ["HOME": home(sandbox, person)])
    XCTAssertEqual(created.status, 0, created.stderrText)
    return created.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  private func identityText(_ sandbox: VaultSandbox, _ person: String) throws -> String {
    let text = String(decoding: try readFile(home(sandbox, person) + "/.config/llm-vault/identity"), as: UTF8.self)
    return text.split(separator: "\n").map(String.init).first { $0.hasPrefix("AGE-SECRET-KEY-1") } ?? ""
  }

  /// `person` with their identity and no passphrase.
  private func asMember(_ sandbox: VaultSandbox, _ person: String) -> [String: String?] {
    ["HOME": home(sandbox, person), "VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": nil]
  }

  private func copy(_ from: String, _ to: String) throws {
    try writeFile(to, try readFile(from), mode: 0o600)
  }

  private func json(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(try readFile(path))) as? [String: Any] ?? [:]
  }

  private func diffText(_ sandbox: VaultSandbox, _ path: String) throws -> String {
    try sandbox.run(["diff-text", path]).stdoutText
  }

  // MARK: 1. The merge driver launders an older, authentic THEIRS (critical)

  /// Someone who can push to the team repository but holds no key commits an OLDER version of
  /// vault.json (authentic: its MAC is good). The next teammate whose merge runs the driver gets
  /// a clean merge (exit 0) that re-adds a removed member with the old master key, brings a
  /// revoked and deleted agent key back to life, and drops a key added since. SECURITY.md says
  /// such a writer cannot make an edit verify and that an older copy is refused ("Rollback").
  func testMergeDriverRefusesAnOlderTheirsThatUndoesRemovalsAndRevocations() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("K1", value: "sk-review-k1-value-aaaaaaaaaaaa", ["--provider", "openai"])
    let bob = try newIdentity(sandbox, "bob")
    XCTAssertEqual(try sandbox.run(["member", "add", "bob", bob]).status, 0)
    let token = try sandbox.agentCreate("ci", ["--all"])
    let v1 = sandbox.root + "/v1.json"
    try copy(sandbox.vaultPath, v1)

    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "ci", "--yes"]).status, 0)
    XCTAssertEqual(try sandbox.run(["agent-key", "rm", "ci", "--yes"]).status, 0)
    let remove = try sandbox.run(["member", "rm", "bob", "--yes"])
    XCTAssertEqual(remove.status, 0, remove.stderrText)
    try sandbox.addOK("K2", value: "sk-review-k2-value-bbbbbbbbbbbb", ["--provider", "anthropic"])
    let base = sandbox.root + "/base.json"
    try copy(sandbox.vaultPath, base)
    try sandbox.addOK("K3", value: "sk-review-k3-value-cccccccccccc", ["--provider", "mistral"])
    let ours = sandbox.root + "/ours.json"
    try copy(sandbox.vaultPath, ours)

    let merge = try sandbox.run(["merge-driver", base, ours, v1, "vault.json"])
    let merged = try diffText(sandbox, ours)
    // Expected: refused (THEIRS is older than BASE and than what this user has seen), or at
    // least nothing undone. Observed: exit 0 and all three below.
    XCTAssertNotEqual(merge.status, 0, "an older THEIRS merged cleanly:\n\(merged)")
    XCTAssertFalse(merged.contains("member bob"), "removed member bob is back:\n\(merged)")
    XCTAssertFalse(merged.contains("agent ci active"), "revoked and deleted agent key ci is active again:\n\(merged)")
    XCTAssertTrue(merged.contains("key K2 "), "K2, added after the old copy, was dropped:\n\(merged)")
    let bobReads = try sandbox.run(["--file", ours, "get", "K3"], environment: asMember(sandbox, "bob"))
    XCTAssertNotEqual(bobReads.status, 0, "removed member bob reads K3 (added after his removal) in the merged file")
    let tokenReads = try sandbox.run(
      ["--file", ours, "get", "K3"], environment: ["VAULT_AGENT_KEY": token, "VAULT_PASSPHRASE_FILE": nil])
    XCTAssertNotEqual(tokenReads.status, 0, "the revoked token reads K3 in the merged file")
  }

  // MARK: 2. A removed member keeps reading through agent slot keys (high)

  /// `member rm` re-seals every live token's `slotKey` under the new master key, but SK itself
  /// stays (FORMAT.md, "Members"), and the grants are sealed under SK again. The removed member
  /// decrypted every `slotKey` with the old master key (their slot in git history opens it), so
  /// they open the new grants, hence the new data keys, hence every value in an agent's scope,
  /// including keys added after their removal. SECURITY.md: "A removed member opens nothing
  /// written from then on".
  func testARemovedMemberOpensNothingWrittenAfterTheRemoval() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("OLD_KEY", value: "sk-review-old-value-0000000001", ["--provider", "openai"])
    let bob = try newIdentity(sandbox, "bob")
    XCTAssertEqual(try sandbox.run(["member", "add", "bob", bob]).status, 0)
    _ = try sandbox.agentCreate("ci", ["--all"])
    let before = sandbox.root + "/before.json"
    try copy(sandbox.vaultPath, before)
    XCTAssertEqual(try sandbox.run(["member", "rm", "bob", "--yes"]).status, 0)
    let secret = "sk-review-added-after-removal-0002"
    try sandbox.addOK("NEW_KEY", value: secret, ["--provider", "anthropic"])

    // What bob can do with his identity, the old file (git history) and the new file.
    let old = try json(before)
    let new = try json(sandbox.vaultPath)
    let vid = (old["vault"] as? [String: Any])?["id"] as? String ?? ""
    let bobSlot =
      (old["members"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "bob" }?["slot"] as? String
    let identity = try AgeIdentity(parsing: try identityText(sandbox, "bob"))
    let plaintext = try AgeFile.decrypt([UInt8](Data(base64Encoded: bobSlot ?? "") ?? Data()), identities: [identity])
    let oldMasterKey = SecretBytes(copying: plaintext.copyBytes().suffix(32))
    var slotKeys: [String: SecretBytes] = [:]
    for agent in old["agents"] as? [[String: Any]] ?? [] {
      let aid = agent["id"] as? String ?? ""
      for token in agent["tokens"] as? [[String: Any]] ?? [] {
        guard let tid = token["id"] as? String, let sealed = token["slotKey"] as? String else { continue }
        slotKeys[aid + "|" + tid] = try AESGCM.open(
          [UInt8](Data(base64Encoded: sealed) ?? Data()), key: oldMasterKey,
          associatedData: Array("llm-vault/v1/agent-slot-key|\(vid)|\(aid)|\(tid)".utf8))
      }
    }
    let keys = Dictionary(
      (new["keys"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    var recovered: [String] = []
    for agent in new["agents"] as? [[String: Any]] ?? [] {
      let aid = agent["id"] as? String ?? ""
      for token in agent["tokens"] as? [[String: Any]] ?? [] {
        let tid = token["id"] as? String ?? ""
        guard let slotKey = slotKeys[aid + "|" + tid] else { continue }
        let retire = token["retireAt"] as? String ?? "-"
        for grant in token["grants"] as? [[String: Any]] ?? [] {
          let rid = grant["key"] as? String ?? ""
          guard let key = keys[rid], let name = key["name"] as? String,
            let dataKey = try? AESGCM.open(
              [UInt8](Data(base64Encoded: grant["dataKey"] as? String ?? "") ?? Data()), key: slotKey,
              associatedData: Array("llm-vault/v1/grant|\(vid)|\(aid)|\(tid)|\(rid)|\(retire)".utf8)),
            let value = try? AESGCM.open(
              [UInt8](Data(base64Encoded: key["value"] as? String ?? "") ?? Data()), key: dataKey,
              associatedData: Array("llm-vault/v1/value|\(vid)|\(rid)|\(name)".utf8))
          else { continue }
          recovered.append(String(decoding: value.copyBytes(), as: UTF8.self))
        }
      }
    }
    XCTAssertFalse(
      recovered.contains(secret),
      "removed member bob decrypted NEW_KEY (added after his removal) from the new file: \(recovered.count) values")
  }

  // MARK: 3. A forged BASE is used as is (medium)

  /// BASE that fails its MAC under the very master key that opens its slots is a forgery, not
  /// "a version that predates this user's access"; the driver still compares against it and
  /// drops a key added on each side (exit 0).
  func testMergeDriverRefusesABaseWhoseMACFailsUnderItsOwnMasterKey() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("K1", value: "sk-review-k1-value-aaaaaaaaaaaa", ["--provider", "openai"])
    let base = sandbox.root + "/base.json"
    try copy(sandbox.vaultPath, base)
    let theirs = sandbox.root + "/theirs.json"
    try sandbox.addOK("K4", value: "sk-review-k4-value-dddddddddddd", ["--provider", "groq"])
    try copy(sandbox.vaultPath, theirs)
    // OURS: BASE plus K3, written in another clone (its own HOME, so no rollback record).
    let ours = sandbox.root + "/ours.json"
    try copy(base, ours)
    let other = sandbox.root + "/home-other"
    try makeDirectory(other)
    let addOurs = try sandbox.run(
      ["--file", ours, "add", "K3", "--provider", "mistral"], stdin: Array("sk-review-k3-value-cccccccccccc\n".utf8),
      environment: ["HOME": other])
    XCTAssertEqual(addOurs.status, 0, addOurs.stderrText)

    // The forgery: BASE with copies of the K3 and K4 lines, checksum recomputed, MAC left.
    var lines = Robust.lines(try readFile(base)).map { String(decoding: $0, as: UTF8.self) }
    func line(named name: String, in path: String) throws -> String {
      Robust.lines(try readFile(path)).map { String(decoding: $0, as: UTF8.self) }
        .first { $0.hasPrefix("{\"id\":") && $0.contains("\"name\":\"\(name)\"") }!
    }
    let k3 = try line(named: "K3", in: ours)
    let k4 = try line(named: "K4", in: theirs)
    let agents = lines.firstIndex(of: "\"agents\":[")!
    let strip = { (text: String) in text.hasSuffix(",") ? String(text.dropLast()) : text }
    lines[agents - 2] = strip(lines[agents - 2]) + ","
    lines.insert(contentsOf: [strip(k3) + ",", strip(k4)], at: agents - 1)
    let forged = Robust.recomputingChecksum(Array((lines.joined(separator: "\n") + "\n").utf8))
    try writeFile(base, forged, mode: 0o600)
    XCTAssertEqual(try sandbox.run(["--file", base, "list"]).status, 0, "the forged BASE has a valid checksum")

    let oursBefore = try readFile(ours)
    let merge = try sandbox.run(["merge-driver", base, ours, theirs, "vault.json"])
    let merged = try diffText(sandbox, ours)
    // Refused as damage (exit 6), OURS untouched: K3 still there, nothing dropped.
    assertFailure(merge, 6, mentioning: ["the common version does not verify"])
    XCTAssertEqual(try readFile(ours), oursBefore)
    XCTAssertTrue(merged.contains("key K3 "), "keys dropped:\n\(merged)")
  }

  // MARK: 4. A reader writes through the merge driver (low)

  /// Every write opened by a reader's identity is refused with exit 12 (SECURITY.md,
  /// "Members"); `merge-driver` writes %A anyway.
  func testAReaderCannotWriteThroughTheMergeDriver() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("K1", value: "sk-review-k1-value-aaaaaaaaaaaa", ["--provider", "openai"])
    let carol = try newIdentity(sandbox, "carol")
    XCTAssertEqual(try sandbox.run(["member", "add", "carol", carol, "--role", "reader"]).status, 0)
    let base = sandbox.root + "/base.json"
    let ours = sandbox.root + "/ours.json"
    try copy(sandbox.vaultPath, base)
    try copy(sandbox.vaultPath, ours)
    try sandbox.addOK("K2", value: "sk-review-k2-value-bbbbbbbbbbbb", ["--provider", "groq"])
    let before = try readFile(ours)
    let merge = try sandbox.run(
      ["merge-driver", base, ours, sandbox.vaultPath, "vault.json"], environment: asMember(sandbox, "carol"))
    XCTAssertEqual(merge.status, 12, "reader's merge-driver: exit \(merge.status) \(merge.stderrText)")
    XCTAssertTrue(try readFile(ours) == before, "a reader's merge-driver rewrote %A")
  }

  // MARK: 5. An identity file that is a FIFO hangs every command (low)

  func testAnIdentityFIFODoesNotHang() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("K1", value: "sk-review-k1-value-aaaaaaaaaaaa", ["--provider", "openai"])
    let alice = try newIdentity(sandbox, "alice")
    XCTAssertEqual(try sandbox.run(["member", "add", "alice", alice]).status, 0)
    let fifo = sandbox.root + "/identity.fifo"
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    var arguments = ["/usr/bin/timeout", "10", "/usr/bin/env", "-i"]
    for (name, value) in sandbox.environment where name != "VAULT_PASSPHRASE_FILE" {
      arguments.append("\(name)=\(value)")
    }
    arguments += [VaultSandbox.binary, "get", "K1", "--identity", fifo]
    let result = try VaultSandbox.runTool(arguments)
    XCTAssertNotEqual(result.status, 124, "vault blocked opening the FIFO named by --identity until timeout killed it")
  }
}
