import Foundation
import XCTest

@testable import VaultCore

/// The fast line reader and the general JSON reader must agree on every line, and the fast one
/// must give up (never guess) on anything the general one would reject.
final class RecordScannerTests: XCTestCase {
  func testBothReadersAgreeOnEveryKeyLine() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("PLAIN", "sk-plain-value-0123456789", provider: "openai", models: ["gpt-4o", "o3"])
    try vault.add("NO_PROVIDER", "sk-no-provider-0123456789")
    try vault.add("ESCAPES", "\"\\\u{1}é-middle-value-\t\"\\", provider: "anthropic", models: ["claude-opus-4@x"])
    try vault.store.update(passphrase: TestVault.passphrase) { document, _ in
      try document.setEnvironmentNames(of: "PLAIN", to: ["MY_VAR", "OTHER_VAR"], now: .now())
    }
    let bytes = try vault.bytes()
    let layout = try VaultCodec.checkedLayout(bytes)
    XCTAssertEqual(layout.keyLines.count, 3)
    for (index, range) in layout.keyLines.enumerated() {
      let fast = try XCTUnwrap(VaultCodec.scanKey(bytes, range), "the fast reader gave up on line \(index)")
      XCTAssertEqual(fast, try VaultCodec.decodeKeyInGeneral(bytes, range, index: index))
    }
  }

  func testBothReadersAgreeOnEveryAgentLine() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("PLAIN", "sk-plain-value-0123456789", provider: "openai", models: ["gpt-4o"])
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      let scopes = [
        AgentScope(all: true), AgentScope(providers: ["openai"], models: ["gpt-4o"]),
        AgentScope(keys: [try document.key(named: "PLAIN").id]),
      ]
      for (index, scope) in scopes.enumerated() {
        _ = try document.createAgent(
          name: "agent-\(index)", scope: scope, lifetime: 3_600, createdBy: "té\"st", keyring: keyring, now: .now())
      }
      _ = try document.rotateAgent("agent-1", grace: 600, lifetime: nil, keyring: keyring, now: .now())
      _ = try document.revokeAgent("agent-2", keyring: keyring, now: .now())
      try document.setAgentLimits(
        "agent-0", AgentLimits(requestsPerMinute: 60, tokensPerDay: 2_000_000), keyring: keyring, now: .now())
    }
    let bytes = try vault.bytes()
    let layout = try VaultCodec.checkedLayout(bytes)
    XCTAssertEqual(layout.agentLines.count, 3)
    for (index, range) in layout.agentLines.enumerated() {
      let fast = try XCTUnwrap(
        VaultCodec.scanAgent(bytes, range, version: layout.version), "the fast reader gave up on agent line \(index)")
      XCTAssertEqual(fast, try VaultCodec.decodeAgentInGeneral(bytes, range, index: index, version: layout.version))
    }
    XCTAssertEqual(try VaultCodec.scanAgent(bytes, layout.agentLines[1], version: 2)?.credentials.count, 2)
    XCTAssertEqual(
      try VaultCodec.scanAgent(bytes, layout.agentLines[0], version: 2)?.limits,
      AgentLimits(requestsPerMinute: 60, tokensPerDay: 2_000_000))
  }

  func testTheFastReaderGivesUpOnWhatTheGeneralOneRejects() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("PLAIN", "sk-plain-value-0123456789", provider: "openai", models: ["gpt-4o"])
    let bytes = try vault.bytes()
    let range = try XCTUnwrap(try VaultCodec.checkedLayout(bytes).keyLines.first)
    let line = String(decoding: bytes[range], as: UTF8.self)
    let edits: [(String, String)] = [
      ("\"provider\":\"openai\"", "\"provider\":\"Open AI\""), ("\"models\":[\"gpt-4o\"]", "\"models\":[\"gpt 4o\"]"),
      ("\"name\":\"PLAIN\"", "\"name\":\"1PLAIN\""), ("\"env\":[]", "\"env\":[1]"),
      ("\"provider\":\"openai\"", "\"provider\":null,\"x\":1"),
    ]
    for (from, to) in edits {
      let edited = Array(line.replacingOccurrences(of: from, with: to).utf8)
      XCTAssertNotEqual(edited, Array(line.utf8), "the edit \(from) did not apply")
      XCTAssertNil(VaultCodec.scanKey(edited, 0..<edited.count), "fast reader accepted: \(to)")
      XCTAssertThrowsError(try VaultCodec.decodeKeyInGeneral(edited, 0..<edited.count, index: 0), to)
    }
    // Whitespace is valid JSON: the fast reader leaves it to the general one, which reads it.
    let spaced = Array(line.replacingOccurrences(of: "{\"id\":", with: "{ \"id\": ").utf8)
    XCTAssertNil(VaultCodec.scanKey(spaced, 0..<spaced.count))
    XCTAssertEqual(
      try VaultCodec.decodeKeyInGeneral(spaced, 0..<spaced.count, index: 0), VaultCodec.scanKey(bytes, range))
  }
}
