import Foundation
import XCTest

@testable import VaultCore

/// A save copies the line of every key unchanged since it was read (ProviderKey.encodedLine)
/// instead of encoding it again. These tests hold that copy to the full encoding: after each kind
/// of change, the bytes written must be exactly what encoding every key from its fields gives,
/// and a changed key must not keep its old line.
final class LineReuseTests: XCTestCase {
  private var vault: TestVault!

  override func setUpWithError() throws {
    vault = try TestVault()
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      let keys: [(String, String?, [String])] = [
        ("OPENAI_ONE", "openai", ["gpt-4o"]), ("OPENAI_TWO", "openai", []), ("ANTHROPIC_ONE", "anthropic", ["claude"]),
        ("PLAIN", nil, []), ("OPENAI_THREE", "openai", ["o3", "gpt-4o"]),
      ]
      for (index, (name, provider, models)) in keys.enumerated() {
        try document.addKey(
          name: name, value: SecretBytes(copying: Array("sk-value-\(index)-\"\\\u{1}é-0123456789".utf8)),
          provider: provider, models: models, environmentNames: [], keyring: keyring, now: .now())
      }
    }
  }

  override func tearDown() {
    vault.remove()
  }

  /// Opens the file, applies `change` and checks the encoding with copied lines against the full
  /// one; then saves the same change through the store and checks the file it wrote the same way.
  private func checkSave(
    _ what: String, changed: [String] = [], file: StaticString = #filePath, line: UInt = #line,
    _ change: (inout VaultDocument, Keyring) throws -> Void
  ) throws {
    let keyring = try vault.store.unlock(passphrase: TestVault.passphrase).keyring
    let bytes = try vault.bytes()
    var document = try VaultCodec.decode(bytes).document
    XCTAssertTrue(
      document.keys.allSatisfy { $0.encodedLine != nil }, "\(what): a key read from the file has no line",
      file: file, line: line)
    try change(&document, keyring)
    try document.maintainAgents(keyring: keyring, now: .now())
    for key in document.keys where changed.contains(key.name) {
      XCTAssertTrue(
        key.encodedLine == nil, "\(what): \(key.name) changed but kept its old line", file: file, line: line)
    }
    let encoded = VaultCodec.encode(document, keyring: keyring, reusingLines: false)
    let copied = VaultCodec.encode(document, keyring: keyring, reusingLines: true)
    XCTAssertTrue(copied == encoded, "\(what): copied lines differ from the full encoding", file: file, line: line)
    // Written as the store writes: runs of unchanged lines as slices of the bytes read.
    let pieces = VaultCodec.encodedFile(document, keyring: keyring, reusingLinesOf: bytes)
    XCTAssertTrue(
      Array(pieces.pieces.joined()) == encoded, "\(what): the pieces differ from the full encoding", file: file,
      line: line)
    XCTAssertEqual(pieces.headerDigest, try VaultCodec.headerDigest(encoded), what, file: file, line: line)

    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in try change(&document, keyring) }
    let written = try vault.bytes()
    let reread = try vault.store.unlock(passphrase: TestVault.passphrase)
    XCTAssertTrue(
      written == VaultCodec.encode(reread.document, keyring: reread.keyring, reusingLines: false),
      "\(what): the file written is not the full encoding of what it holds", file: file, line: line)
  }

  func testEveryKindOfChangeWritesWhatAFullEncodingWrites() throws {
    try checkSave("add") { document, keyring in
      try document.addKey(
        name: "ADDED", value: SecretBytes(copying: Array("sk-added-0123456789abcdef".utf8)), provider: "openai",
        models: [], environmentNames: [], keyring: keyring, now: .now())
    }
    try checkSave("rename", changed: ["RENAMED"]) { document, keyring in
      try document.renameKey("PLAIN", to: "RENAMED", keyring: keyring, now: .now())
    }
    try checkSave("new value", changed: ["OPENAI_TWO"]) { document, keyring in
      try document.setValue(
        of: "OPENAI_TWO", to: SecretBytes(copying: Array("sk-new-value-0123456789".utf8)), keyring: keyring, now: .now()
      )
    }
    try checkSave("provider", changed: ["RENAMED"]) { document, _ in
      try document.setProvider(of: "RENAMED", to: "Mistral", now: .now())
    }
    try checkSave("link models and env", changed: ["ANTHROPIC_ONE"]) { document, _ in
      try document.link("ANTHROPIC_ONE", models: ["claude-2"], environmentNames: ["MY_CLAUDE"], now: .now())
    }
    try checkSave("unlink", changed: ["ANTHROPIC_ONE"]) { document, _ in
      try document.unlink("ANTHROPIC_ONE", models: ["claude"], environmentNames: ["MY_CLAUDE"], now: .now())
    }
    try checkSave("env", changed: ["OPENAI_ONE"]) { document, _ in
      try document.setEnvironmentNames(of: "OPENAI_ONE", to: ["FIRST_VAR", "SECOND_VAR"], now: .now())
    }
    try checkSave("default") { document, _ in
      XCTAssertEqual(try document.makeDefault("OPENAI_THREE"), "OPENAI_TWO")
    }
    try checkSave("delete") { document, _ in try document.removeKey("OPENAI_TWO") }
    try checkSave("agent key") { document, keyring in
      _ = try document.createAgent(
        name: "bot", scope: AgentScope(all: true), lifetime: 3_600, createdBy: "tester", keyring: keyring, now: .now())
    }
    // Revoking purges the token, which re-keys every key it could read.
    let names = try vault.store.read().document.keys.map(\.name)
    try checkSave("revoke", changed: names) { document, keyring in
      _ = try document.revokeAgent("bot", keyring: keyring, now: .now())
    }
    try checkSave("rotate", changed: ["OPENAI_ONE", "OPENAI_THREE", "ADDED"]) { document, keyring in
      _ = try document.createAgent(
        name: "openai-bot", scope: AgentScope(providers: ["openai"]), lifetime: 3_600, createdBy: "tester",
        keyring: keyring, now: .now())
      _ = try document.rotateAgent("openai-bot", grace: 0, lifetime: nil, keyring: keyring, now: .now())
    }
    try checkSave("nothing") { _, _ in }
  }

  /// Every field's setter drops the line, even when it sets the value the field already holds.
  func testEverySetterDropsTheLine() throws {
    let key = try XCTUnwrap(try vault.store.read().document.keys.first)
    XCTAssertNotNil(key.encodedLine)
    func check(_ change: (inout ProviderKey) -> Void, _ what: String) {
      var copy = key
      change(&copy)
      XCTAssertTrue(copy.encodedLine == nil, "setting \(what) kept the line")
      XCTAssertNotNil(key.encodedLine, "setting \(what) on a copy dropped the original's line")
    }
    check({ $0.id = key.id }, "id")
    check({ $0.name = key.name }, "name")
    check({ $0.provider = key.provider }, "provider")
    check({ $0.models = key.models }, "models")
    check({ $0.environmentNames = key.environmentNames }, "environmentNames")
    check({ $0.masked = key.masked }, "masked")
    check({ $0.created = key.created }, "created")
    check({ $0.updated = key.updated }, "updated")
    check({ $0.sealedDataKey = key.sealedDataKey }, "sealedDataKey")
    check({ $0.sealedValue = key.sealedValue }, "sealedValue")
  }

  /// A key made in this process has no line; one read from a file has exactly its line's bytes.
  func testALineIsTheKeysBytesInTheFile() throws {
    let bytes = try vault.bytes()
    let layout = try VaultCodec.checkedLayout(bytes)
    let keys = try VaultCodec.decode(bytes).document.keys
    XCTAssertEqual(keys.count, layout.keyLines.count)
    for (key, range) in zip(keys, layout.keyLines) {
      XCTAssertTrue(key.encodedLine.map(Array.init) == Array(bytes[range]), "\(key.name)'s line is not its bytes")
    }
    let made = ProviderKey(
      id: keys[0].id, name: keys[0].name, provider: keys[0].provider, models: keys[0].models,
      environmentNames: keys[0].environmentNames, masked: keys[0].masked, created: keys[0].created,
      updated: keys[0].updated, sealedDataKey: keys[0].sealedDataKey, sealedValue: keys[0].sealedValue)
    XCTAssertNil(made.encodedLine)
    XCTAssertEqual(made, keys[0])
  }

  /// Lines are written as slices only of the buffer they were read from: every key in one run
  /// when nothing changed, none when the buffer given is another (an equal copy).
  func testRunsAreTakenOnlyFromTheBufferTheLinesCameFrom() throws {
    let bytes = try vault.bytes()
    let keyring = try vault.store.unlock(passphrase: TestVault.passphrase).keyring
    let document = try VaultCodec.decode(bytes).document
    let same = VaultCodec.encodedFile(document, keyring: keyring, reusingLinesOf: bytes)
    XCTAssertEqual(same.pieces.count, 3, "the head, one run of every key, the tail")
    XCTAssertTrue(Array(same.pieces.joined()) == bytes)
    let copy = bytes.map { $0 }
    let other = VaultCodec.encodedFile(document, keyring: keyring, reusingLinesOf: copy)
    XCTAssertEqual(other.pieces.count, 1)
    XCTAssertTrue(Array(other.pieces.joined()) == bytes)
  }
}
