import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 12, members: people who open a team vault with their own age identity, removal that
/// re-keys, readers that cannot write, and slots the real `age` binary opens.
final class MemberTests: XCTestCase {
  /// A passphrase vault with one key, and an identity (its own HOME) for each of `people`.
  private func team(_ people: [String]) throws -> (sandbox: VaultSandbox, recipients: [String: String]) {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("OPENAI_MAIN", value: "sk-proj-member-test-value-0001", ["--provider", "openai"])
    var recipients: [String: String] = [:]
    for person in people {
      let created = try sandbox.run(["identity", "new"], environment: ["HOME": home(sandbox, person)])
      XCTAssertEqual(created.status, 0, created.stderrText)
      recipients[person] = created.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
      XCTAssertTrue(recipients[person]?.hasPrefix("age1") ?? false, created.stdoutText)
    }
    return (sandbox, recipients)
  }

  private func home(_ sandbox: VaultSandbox, _ person: String) -> String { sandbox.root + "/home-" + person }

  private func identityPath(_ sandbox: VaultSandbox, _ person: String) -> String {
    home(sandbox, person) + "/.config/llm-vault/identity"
  }

  /// `person`'s environment: their HOME (so their default identity), and no passphrase at all.
  private func asMember(_ sandbox: VaultSandbox, _ person: String) -> [String: String?] {
    ["HOME": home(sandbox, person), "VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": nil]
  }

  func testMembersOpenTheVaultWithTheirOwnIdentityAndReadersCannotWrite() throws {
    let (sandbox, recipients) = try team(["alice", "bob", "eve"])
    var status = stat()
    XCTAssertEqual(stat(identityPath(sandbox, "alice"), &status), 0)
    XCTAssertEqual(status.st_mode & 0o777, 0o600)
    XCTAssertEqual(try sandbox.run(["member", "add", "alice", recipients["alice"]!]).status, 0)
    let addBob = try sandbox.run(["member", "add", "bob", recipients["bob"]!, "--role", "reader"])
    XCTAssertEqual(addBob.status, 0, addBob.stderrText)
    XCTAssertTrue(sandbox.readVaultText.hasPrefix("{\"format\":\"llm-vault\",\"version\":3,\n"))

    let get = try sandbox.run(["get", "OPENAI_MAIN"], environment: asMember(sandbox, "alice"))
    XCTAssertEqual(get.status, 0, get.stderrText)
    XCTAssertEqual(get.stdoutText, "sk-proj-member-test-value-0001")
    let add = try sandbox.run(
      ["add", "ALICE_KEY"], stdin: Array("sk-ant-added-by-alice-0002\n".utf8), environment: asMember(sandbox, "alice"))
    XCTAssertEqual(add.status, 0, add.stderrText)

    // bob reads, and cannot write: exit 12, the file unchanged.
    let bobReads = try sandbox.run(["get", "ALICE_KEY"], environment: asMember(sandbox, "bob"))
    XCTAssertEqual(bobReads.stdoutText, "sk-ant-added-by-alice-0002", bobReads.stderrText)
    let before = try sandbox.readVault()
    let bobWrites = try sandbox.run(
      ["add", "BOB_KEY"], stdin: Array("sk-bob-0003-value\n".utf8), environment: asMember(sandbox, "bob"))
    assertFailure(bobWrites, 12, mentioning: ["member bob is a reader"])
    assertFailure(
      try sandbox.run(["member", "add", "eve", recipients["eve"]!], environment: asMember(sandbox, "bob")), 12)
    XCTAssertEqual(try sandbox.readVault(), before)

    // eve is no member: the error names the identity tried, never a key.
    let eve = try sandbox.run(["get", "OPENAI_MAIN"], environment: asMember(sandbox, "eve"))
    assertFailure(eve, 5, mentioning: ["none of the identities tried is a member", identityPath(sandbox, "eve")])

    let list = try sandbox.run(["member", "list"])
    XCTAssertEqual(list.status, 0)
    XCTAssertTrue(list.stdoutText.hasPrefix("NAME   ROLE    RECIPIENT"), list.stdoutText)
    XCTAssertTrue(list.stdoutText.contains("bob    reader  " + recipients["bob"]!.prefix(9) + "…"), list.stdoutText)
    let json = try JSONSerialization.jsonObject(with: Data(try sandbox.run(["member", "list", "--json"]).stdout))
    let names = (json as? [[String: Any]])?.compactMap { $0["name"] as? String }
    XCTAssertEqual(names, ["alice", "bob"])
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
  }

  func testRemovingAMemberRekeysEverythingAndNamesTheKeysToRotate() throws {
    let (sandbox, recipients) = try team(["alice", "bob"])
    XCTAssertEqual(try sandbox.run(["member", "add", "alice", recipients["alice"]!]).status, 0)
    XCTAssertEqual(try sandbox.run(["member", "add", "bob", recipients["bob"]!]).status, 0)
    let token = try sandbox.agentCreate("ci", ["--all"])
    let before = try sandbox.readVault()
    assertFailure(try sandbox.run(["member", "rm", "bob"]), 10)

    // alice removes bob with her identity; the passphrase slot is re-wrapped too (asked for).
    let remove = try sandbox.run(
      ["member", "rm", "bob", "--yes"], environment: ["HOME": home(sandbox, "alice")])
    XCTAssertEqual(remove.status, 0, remove.stderrText)
    XCTAssertTrue(remove.stderrText.contains("bob could read OPENAI_MAIN; rotate them at their providers"))
    let after = try sandbox.readVault()

    // Every sealed thing changed: the passphrase slot, alice's slot, the key's data key and value.
    for field in ["\"masterKey\":", "\"dataKey\":", "\"value\":", "\"slot\":\""] {
      XCTAssertNotEqual(sealedFields(before, field), sealedFields(after, field), field)
      XCTAssertFalse(sealedFields(after, field).isEmpty, field)
    }
    assertFailure(try sandbox.run(["get", "OPENAI_MAIN"], environment: asMember(sandbox, "bob")), 5)
    let alice = try sandbox.run(["get", "OPENAI_MAIN"], environment: asMember(sandbox, "alice"))
    XCTAssertEqual(alice.stdoutText, "sk-proj-member-test-value-0001", alice.stderrText)
    XCTAssertEqual(try sandbox.run(["get", "OPENAI_MAIN"]).status, 0, "the passphrase still opens it")
    // An agent key issued before is revoked: bob could derive its slot key from the old master
    // key, and a slot key cannot change without its token.
    XCTAssertTrue(remove.stderrText.contains("revoked agent keys ci: bob could derive their slot keys"))
    let run = try sandbox.run(
      ["run", "--", "/bin/sh", "-c", "printf %s \"$OPENAI_API_KEY\""],
      environment: ["VAULT_AGENT_KEY": token, "VAULT_PASSPHRASE_FILE": nil])
    assertFailure(run, 11, mentioning: ["revoked"])
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
  }

  func testATeamVaultWithoutAPassphrase() throws {
    let sandbox = try VaultSandbox()
    _ = try sandbox.run(["identity", "new"], environment: ["HOME": home(sandbox, "alice")])
    let create = try sandbox.run(["init", "--member", "alice"], environment: asMember(sandbox, "alice"))
    XCTAssertEqual(create.status, 0, create.stderrText)
    XCTAssertTrue(sandbox.readVaultText.contains("\"kdf\":null,\"masterKey\":null"))
    let add = try sandbox.run(
      ["add", "KEY_ONE"], stdin: Array("sk-team-only-value-0004\n".utf8), environment: asMember(sandbox, "alice"))
    XCTAssertEqual(add.status, 0, add.stderrText)
    // A passphrase opens nothing here.
    assertFailure(
      try sandbox.run(["get", "KEY_ONE"], environment: ["HOME": sandbox.root]), 5, mentioning: ["no passphrase"])
    assertFailure(
      try sandbox.run(["member", "rm", "alice", "--yes"], environment: asMember(sandbox, "alice")), 65,
      mentioning: ["last way into this vault"])
    XCTAssertEqual(try sandbox.run(["get", "KEY_ONE"], environment: asMember(sandbox, "alice")).status, 0)
  }

  /// A slot moved onto another member's line opens to the wrong binding: damage, exit 6.
  func testASlotSwappedBetweenMembersIsDamage() throws {
    let (sandbox, recipients) = try team(["alice", "bob"])
    XCTAssertEqual(try sandbox.run(["member", "add", "alice", recipients["alice"]!]).status, 0)
    XCTAssertEqual(try sandbox.run(["member", "add", "bob", recipients["bob"]!]).status, 0)
    // bob's line given alice's recipient and slot: alice's identity opens a slot bound to "alice".
    var text = sandbox.readVaultText
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let aliceLine = try XCTUnwrap(lines.first { $0.hasPrefix("{\"name\":\"alice\"") })
    let bobLine = try XCTUnwrap(lines.first { $0.hasPrefix("{\"name\":\"bob\"") })
    let forged = bobLine.replacingOccurrences(of: "\"bob\"", with: "\"alice2\"")
    text = text.replacingOccurrences(
      of: aliceLine, with: aliceLine.replacingOccurrences(of: "\"alice\"", with: "\"bob2\""))
    text = text.replacingOccurrences(of: bobLine, with: forged)
    try writeFile(sandbox.vaultPath, Robust.recomputingChecksum(Array(text.utf8)), mode: 0o600)
    assertFailure(try sandbox.run(["get", "OPENAI_MAIN"], environment: asMember(sandbox, "alice")), 6)
  }

  /// The real age binary opens a member's slot with the member's identity file, and an
  /// identity made by age-keygen opens the vault once its recipient is a member.
  func testTheRealAgeBinaryAndAgeKeygenIdentities() throws {
    let age = "/usr/bin/age"
    guard FileManager.default.isExecutableFile(atPath: age) else {
      if ProcessInfo.processInfo.environment["CI"] != nil { return XCTFail("age is not installed in CI") }
      throw XCTSkip("age is not installed (.ci/run installs it)")
    }
    let (sandbox, recipients) = try team(["alice"])
    XCTAssertEqual(try sandbox.run(["member", "add", "alice", recipients["alice"]!]).status, 0)
    let document = try VaultStore(path: sandbox.vaultPath).read().document
    let slotFile = sandbox.root + "/alice.age"
    try writeFile(slotFile, document.members[0].slot, mode: 0o600)
    let opened = try VaultSandbox.runTool([age, "-d", "-i", identityPath(sandbox, "alice"), slotFile])
    XCTAssertEqual(opened.status, 0, opened.stderrText)
    let binding = Array("llm-vault/v3/member|\(document.header.idHex)|alice\n".utf8)
    XCTAssertEqual(Array(opened.stdout.prefix(binding.count)), binding)
    XCTAssertEqual(opened.stdout.count, binding.count + 32)

    let keygenIdentity = sandbox.root + "/carol.key"
    let keygen = try VaultSandbox.runTool(["/usr/bin/age-keygen", "-o", keygenIdentity])
    XCTAssertEqual(keygen.status, 0, keygen.stderrText)
    let recipient = try VaultSandbox.runTool(["/usr/bin/age-keygen", "-y", keygenIdentity]).stdoutText
      .trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertEqual(try sandbox.run(["member", "add", "carol", recipient]).status, 0)
    let carol = try sandbox.run(
      ["get", "OPENAI_MAIN"], environment: ["VAULT_IDENTITY": keygenIdentity, "VAULT_PASSPHRASE_FILE": nil])
    XCTAssertEqual(carol.stdoutText, "sk-proj-member-test-value-0001", carol.stderrText)
  }

  /// Every value of `field` (a JSON member name with its colon) in the file, in order.
  private func sealedFields(_ bytes: [UInt8], _ field: String) -> [String] {
    let text = String(decoding: bytes, as: UTF8.self)
    var values: [String] = []
    var rest = text[...]
    while let range = rest.range(of: field) {
      let tail = rest[range.upperBound...]
      let value = tail.prefix { $0 != "," && $0 != "}" }
      values.append(String(value))
      rest = tail.dropFirst(value.count)
    }
    return values
  }
}

extension VaultSandbox {
  var readVaultText: String { String(decoding: (try? readVault()) ?? [], as: UTF8.self) }
}
