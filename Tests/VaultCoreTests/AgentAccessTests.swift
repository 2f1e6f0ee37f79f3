import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// The walk `vault run` and the gateway share (AgentAccess), and what version 2 binds into
/// grants: an agent's limits and its providers' endpoints.
final class AgentAccessTests: XCTestCase {
  private func createAgent(_ vault: TestVault, _ name: String, _ scope: AgentScope) throws -> AgentToken {
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: name, scope: scope, lifetime: 3_600, createdBy: "test", keyring: keyring, now: .now())
    }
  }

  private func access(_ vault: TestVault, _ token: AgentToken) throws -> AgentAccess {
    try AgentAccess(store: vault.store, token: token, now: .now())
  }

  func testTheGatewayPicksTheLinkedKeyThenTheFirstOfTheProvider() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_MAIN", "sk-openai-main-aaaaaaaaaaaa", provider: "openai")
    try vault.add("OPENAI_MINI", "sk-openai-mini-bbbbbbbbbbbb", provider: "openai", models: ["gpt-4o-mini"])
    try vault.add("CLAUDE", "sk-ant-claude-cccccccccccc", provider: "anthropic")
    let access = try access(vault, try createAgent(vault, "all", AgentScope(all: true)))
    let every = { try vault.store.read().document.keys }
    XCTAssertEqual(try access.key(forProvider: "openai", model: "gpt-4o-mini", allKeys: every).name, "OPENAI_MINI")
    XCTAssertEqual(try access.key(forProvider: "openai", model: "gpt-4o", allKeys: every).name, "OPENAI_MAIN")
    XCTAssertEqual(try access.key(forProvider: "openai", model: nil, allKeys: every).name, "OPENAI_MAIN")
    XCTAssertEqual(try access.provider(forModel: "claude-3-haiku", allKeys: try every()), "anthropic")
    XCTAssertEqual(try access.provider(forModel: "gpt-4o-mini", allKeys: try every()), "openai")
    XCTAssertThrowsError(try access.provider(forModel: "mystery-model", allKeys: try every()))
  }

  func testTheGatewayFollowsTheProvidersDefaultKey() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_MAIN", "sk-openai-main-aaaaaaaaaaaa", provider: "openai", models: ["gpt-4o"])
    try vault.add("OPENAI_DEV", "sk-openai-dev-bbbbbbbbbbbbb", provider: "openai")
    try vault.add("OPENAI_CI", "sk-openai-ci-ccccccccccccc", provider: "openai")
    let token = try createAgent(vault, "all", AgentScope(all: true))
    let every = { try vault.store.read().document.keys }
    XCTAssertEqual(try access(vault, token).key(forProvider: "openai", model: "o3", allKeys: every).name, "OPENAI_MAIN")
    let previous = try vault.store.update(passphrase: TestVault.passphrase) { document, _ in
      try document.makeDefault("OPENAI_CI")
    }
    XCTAssertEqual(previous, "OPENAI_MAIN")
    XCTAssertEqual(try every().map(\.name), ["OPENAI_CI", "OPENAI_MAIN", "OPENAI_DEV"])
    let after = try access(vault, token)
    XCTAssertEqual(try after.key(forProvider: "openai", model: "o3", allKeys: every).name, "OPENAI_CI")
    XCTAssertEqual(try after.key(forProvider: "openai", model: nil, allKeys: every).name, "OPENAI_CI")
    // A model linked to a non-default key still gets that key.
    XCTAssertEqual(try after.key(forProvider: "openai", model: "gpt-4o", allKeys: every).name, "OPENAI_MAIN")
    // A scope without the vault's default: the first key of the provider inside it.
    let document = try vault.store.read().document
    let scoped = try createAgent(
      vault, "scoped",
      AgentScope(all: false, keys: ["OPENAI_DEV", "OPENAI_MAIN"].map { document.keys[document.index(of: $0)!].id }))
    XCTAssertEqual(
      try access(vault, scoped).key(forProvider: "openai", model: "o3", allKeys: every).name, "OPENAI_MAIN")
    // A key moved to another provider and back joins as a non-default key.
    try vault.store.update(passphrase: TestVault.passphrase) { document, _ in
      try document.setProvider(of: "OPENAI_CI", to: "azure", now: .now())
      try document.setProvider(of: "OPENAI_CI", to: "openai", now: .now())
    }
    XCTAssertEqual(try vault.store.read().document.defaultKey(of: "openai")?.name, "OPENAI_MAIN")
    XCTAssertThrowsError(
      try vault.store.update(passphrase: TestVault.passphrase) { document, _ in
        try document.setProvider(of: "OPENAI_CI", to: nil, now: .now())
        try document.makeDefault("OPENAI_CI")
      })
  }

  func testAModelLinkedOutsideTheScopeOrAModelScopeIsPermissionDenied() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_MAIN", "sk-openai-main-aaaaaaaaaaaa", provider: "openai", models: ["gpt-4o"])
    try vault.add("OPENAI_SECRET", "sk-openai-secret-bbbbbbbbbb", provider: "openai", models: ["o3"])
    let every = { try vault.store.read().document.keys }
    let byModel = try access(vault, try createAgent(vault, "bot", AgentScope(models: ["gpt-4o"])))
    XCTAssertEqual(try byModel.key(forProvider: "openai", model: "gpt-4o", allKeys: every).name, "OPENAI_MAIN")
    // o3 is linked to a key this token cannot read: never quietly the readable one.
    XCTAssertThrowsError(try byModel.key(forProvider: "openai", model: "o3", allKeys: every)) {
      XCTAssertTrue(Self.isPermissionDenied($0), "\($0)")
    }
    // A key readable only through a model scope serves only that scope's models.
    XCTAssertThrowsError(try byModel.key(forProvider: "openai", model: "gpt-4.1", allKeys: every)) {
      XCTAssertTrue(Self.isPermissionDenied($0), "\($0)")
    }
    XCTAssertThrowsError(try byModel.key(forProvider: "anthropic", model: nil, allKeys: every)) {
      XCTAssertTrue(Self.isPermissionDenied($0), "\($0)")
    }
    // A key's other links do not widen a model scope.
    try vault.store.update(passphrase: TestVault.passphrase) { document, _ in
      try document.link("OPENAI_MAIN", models: ["gpt-4o-mini"], environmentNames: [], now: .now())
    }
    let widened = try access(vault, try createAgent(vault, "narrow", AgentScope(models: ["gpt-4o"])))
    XCTAssertThrowsError(try widened.key(forProvider: "openai", model: "gpt-4o-mini", allKeys: every)) {
      XCTAssertTrue(Self.isPermissionDenied($0), "\($0)")
    }
    // A provider scope serves any model of its keys.
    let byProvider = try access(vault, try createAgent(vault, "wide", AgentScope(providers: ["openai"])))
    XCTAssertEqual(try byProvider.key(forProvider: "openai", model: "gpt-4.1", allKeys: every).name, "OPENAI_MAIN")
  }

  func testEditedLimitsOrEndpointsMakeTheGrantsFailToOpen() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_MAIN", "sk-openai-main-aaaaaaaaaaaa", provider: "openai")
    let token = try createAgent(vault, "bot", AgentScope(providers: ["openai"]))
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.setAgentLimits("bot", AgentLimits(requestsPerMinute: 60), keyring: keyring, now: .now())
      try document.setEndpoint(
        provider: "openai", baseURL: "https://proxy.example/v1", keyring: keyring, now: .now())
    }
    let opened = try access(vault, token)
    XCTAssertEqual(opened.agent.limits.requestsPerMinute, 60)
    XCTAssertEqual(opened.endpoint(for: "openai"), "https://proxy.example/v1")
    XCTAssertEqual(try opened.open(opened.readableKeys[0]).copyBytes(), Array("sk-openai-main-aaaaaaaaaaaa".utf8))

    let original = String(decoding: try vault.bytes(), as: UTF8.self)
    let edits = [
      ("\"rpm\":60", "\"rpm\":999"),  // a raised limit
      ("\"rpm\":60", "\"rpm\":null"),  // a removed limit
      ("https://proxy.example/v1", "https://evil.example/v1"),  // keys sent elsewhere
    ]
    for (from, to) in edits {
      XCTAssertTrue(original.contains(from), from)
      let edited = Array(original.replacingOccurrences(of: from, with: to).utf8)
      try Data(Self.recomputingChecksum(edited)).write(to: URL(fileURLWithPath: vault.store.path))
      let tampered = try access(vault, token)
      XCTAssertThrowsError(try tampered.open(tampered.readableKeys[0]), "\(from) -> \(to)") { error in
        guard case VaultError.integrity = error else { return XCTFail("\(error)") }
      }
    }
  }

  func testAVersionOneFileIsReadAndItsFirstSaveWritesVersionTwo() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_MAIN", "sk-openai-main-aaaaaaaaaaaa", provider: "openai")
    let token = try createAgent(vault, "bot", AgentScope(all: true))
    // Version 1 is version 2 without `endpoints` and `limits`; with neither set, grants match.
    let v1 = try String(decoding: vault.bytes(), as: UTF8.self)
      .replacingOccurrences(of: "\"version\":2,", with: "\"version\":1,")
      .replacingOccurrences(of: ",\"endpoints\":[]", with: "")
      .replacingOccurrences(of: ",\"limits\":{\"rpm\":null,\"rpd\":null,\"tpd\":null,\"concurrent\":null}", with: "")
    try Data(try Self.resealed(Array(v1.utf8))).write(to: URL(fileURLWithPath: vault.store.path))
    let opened = try access(vault, token)
    XCTAssertEqual(try opened.open(opened.readableKeys[0]).copyBytes(), Array("sk-openai-main-aaaaaaaaaaaa".utf8))
    XCTAssertEqual(try vault.store.unlock(passphrase: TestVault.passphrase).document.header.settings.endpoints, [])
    try vault.add("SECOND", "sk-second-value-dddddddddd", provider: "openai")
    XCTAssertTrue(
      String(decoding: try vault.bytes(), as: UTF8.self).hasPrefix("{\"format\":\"llm-vault\",\"version\":2,"))
    let reopened = try access(vault, token)
    XCTAssertEqual(reopened.readableKeys.map(\.name), ["OPENAI_MAIN", "SECOND"])
    XCTAssertEqual(try reopened.open(reopened.readableKeys[0]).copyBytes(), Array("sk-openai-main-aaaaaaaaaaaa".utf8))
  }

  /// The file with its checksum and MAC made to match, as the owner's own write would.
  static func resealed(_ bytes: [UInt8]) throws -> [UInt8] {
    var result = recomputingChecksum(bytes)
    let covered = result.count - 152
    let layout = try VaultCodec.checkedLayout(result)
    let header = try VaultCodec.decodeHeader(result, layout.header, version: layout.version)
    let keyring = try Keyring.unlock(
      header: header, kek: try Keyring.deriveKEK(passphrase: TestVault.passphrase(), kdf: header.passphraseSlot!.kdf))
    let mac = layout.checksum.withUnsafeBytes { keyring.authenticationCode($0) }
    let hex = mac.map { String(format: "%02x", $0) }.joined()
    result.replaceSubrange((covered + 85)..<(covered + 149), with: Array(hex.utf8))
    return result
  }

  private static func isPermissionDenied(_ error: Error) -> Bool {
    if case VaultError.permissionDenied = error { return true }
    return false
  }

  /// The file with its unkeyed checksum made to match: what a deliberate editor does.
  static func recomputingChecksum(_ bytes: [UInt8]) -> [UInt8] {
    let covered = bytes.count - 152
    let checksum = SHA256.hash(Array(bytes[0..<covered])).map { String(format: "%02x", $0) }.joined()
    var result = bytes
    result.replaceSubrange((covered + 12)..<(covered + 76), with: Array(checksum.utf8))
    return result
  }
}
