import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// Agent keys at the library level: what a token can open, and what revocation takes back.
final class AgentKeyringTests: XCTestCase {
  private func createAgent(
    _ vault: TestVault, name: String, scope: AgentScope, lifetime: Int64 = 3_600
  ) throws -> AgentToken {
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: name, scope: scope, lifetime: lifetime, createdBy: "test", keyring: keyring, now: .now())
    }
  }

  /// The data keys an agent holds once it has opened its slot: what a revoked agent may keep.
  private func unwrappedDataKeys(_ session: AgentSession, header: VaultHeader) throws -> [RecordID: SecretBytes] {
    var result: [RecordID: SecretBytes] = [:]
    for key in try session.grantedKeys() {
      result[key.id] = try session.keyring.dataKey(of: key)
    }
    return result
  }

  func testTokenAloneOpensExactlyItsScope() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_A", "sk-openai-value-aaaaaaaaaaaa", provider: "openai", models: ["gpt-4o"])
    try vault.add("ANTHROPIC_B", "sk-anthropic-value-bbbbbbbb", provider: "anthropic")
    let token = try createAgent(vault, name: "bot", scope: AgentScope(models: ["gpt-4o"]))

    let session = try vault.store.openAgent(token: try AgentToken.parse(token.text.copyBytes()))
    let readable = try session.grantedKeys()
    XCTAssertEqual(readable.map(\.name), ["OPENAI_A"])
    XCTAssertEqual(try session.keyring.open(readable[0]).text, "sk-openai-value-aaaaaaaaaaaa")
    let outside = try vault.store.read().document.key(named: "ANTHROPIC_B")
    XCTAssertThrowsError(try session.keyring.open(outside)) { error in
      guard case VaultError.permissionDenied = error else { return XCTFail("\(error)") }
    }
  }

  /// `open(_ keys:)`, the batch `vault run` takes, opens exactly what key-by-key opening does,
  /// with limits and an endpoint bound into the grants, and refuses a key outside the scope.
  func testBatchOpenMatchesKeyByKey() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OPENAI_A", "sk-openai-value-aaaaaaaaaaaa", provider: "openai", models: ["gpt-4o"])
    try vault.add("ANTHROPIC_B", "sk-anthropic-value-bbbbbbbb", provider: "anthropic")
    try vault.add("PLAIN_C", "plain-value-cccccccccccccccc")
    _ = try createAgent(vault, name: "all", scope: AgentScope(all: true))
    let token = try createAgent(vault, name: "bot", scope: AgentScope(providers: ["openai", "anthropic"]))
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.setAgentLimits(
        "bot", AgentLimits(requestsPerMinute: 60, tokensPerDay: 2_000_000), keyring: keyring, now: .now())
      try document.setEndpoint(
        provider: "openai", baseURL: "https://llm.example.com/v1", keyring: keyring, now: .now())
    }
    let session = try vault.store.openAgent(token: token)
    let readable = try session.grantedKeys()
    XCTAssertEqual(readable.map(\.name), ["OPENAI_A", "ANTHROPIC_B"])
    let batch = try session.keyring.open(readable + readable.reversed())
    let single = try readable.map { try session.keyring.open($0).text }
    XCTAssertEqual(single, ["sk-openai-value-aaaaaaaaaaaa", "sk-anthropic-value-bbbbbbbb"])
    XCTAssertEqual(batch.map(\.text), single + single.reversed())
    let outside = try vault.store.read().document.key(named: "PLAIN_C")
    XCTAssertThrowsError(try session.keyring.open(readable + [outside])) { error in
      guard case VaultError.permissionDenied = error else { return XCTFail("\(error)") }
    }
  }

  func testLiveScopeGrantsKeysLinkedLaterWithoutANewToken() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let token = try createAgent(vault, name: "anthropic-bot", scope: AgentScope(providers: ["anthropic"]))
    XCTAssertEqual(try vault.store.openAgent(token: token).grantedKeys().count, 0)
    try vault.add("LATER", "sk-ant-added-later-000000", provider: "anthropic")
    let session = try vault.store.openAgent(token: token)
    XCTAssertEqual(try session.grantedKeys().map(\.name), ["LATER"])
    XCTAssertEqual(try session.keyring.open(session.grantedKeys()[0]).text, "sk-ant-added-later-000000")
  }

  func testRevocationRekeysSoKeptDataKeysOpenNothingWrittenAfter() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("SHARED", "sk-shared-value-1111111111", provider: "openai")
    try vault.add("OTHER", "sk-other-value-22222222222", provider: "groq")
    let revoked = try createAgent(vault, name: "leaky", scope: AgentScope(all: true))
    let survivor = try createAgent(vault, name: "keeps-working", scope: AgentScope(providers: ["openai"]))

    // The agent opens its slot and keeps the data keys it unwrapped.
    let session = try vault.store.openAgent(token: revoked)
    let kept = try unwrappedDataKeys(session, header: session.header)
    XCTAssertEqual(kept.count, 2)

    let exposed = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.revokeAgent("leaky", keyring: keyring, now: .now())
    }
    XCTAssertEqual(Set(exposed), ["SHARED", "OTHER"])

    // In the file written after the revocation, the kept data keys decrypt nothing.
    let after = try vault.store.read().document
    for key in after.keys {
      let oldDataKey = try XCTUnwrap(kept[key.id])
      XCTAssertThrowsError(
        try AESGCM.open(
          key.sealedValue, key: oldDataKey,
          associatedData: CryptoContext.value(vaultID: after.header.idHex, recordID: key.id, name: key.name)),
        "\(key.name) still opens with a data key the revoked agent kept")
    }
    // The revoked token is refused; the other agent, re-granted the new data key, still reads.
    XCTAssertThrowsError(try vault.store.openAgent(token: revoked)) { error in
      guard case VaultError.accessNotPermitted(.revoked) = error else { return XCTFail("\(error)") }
    }
    let other = try vault.store.openAgent(token: survivor)
    XCTAssertEqual(try other.grantedKeys().map(\.name), ["SHARED"])
    XCTAssertEqual(try other.keyring.open(other.grantedKeys()[0]).text, "sk-shared-value-1111111111")
    // The owner still reads everything.
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    XCTAssertEqual(try unlocked.keyring.open(unlocked.document.key(named: "OTHER")).text, "sk-other-value-22222222222")
  }

  func testExpiredSlotIsPurgedOnTheNextOwnerWrite() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("K", "sk-expiring-scope-00000000", provider: "openai")
    let token = try createAgent(vault, name: "short", scope: AgentScope(all: true), lifetime: 1)
    let session = try vault.store.openAgent(token: token, now: .now())
    let kept = try unwrappedDataKeys(session, header: session.header)
    XCTAssertThrowsError(
      try vault.store.openAgent(token: token, now: Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch + 2))
    ) {
      error in
      guard case VaultError.accessNotPermitted(.expired) = error else { return XCTFail("\(error)") }
    }
    sleep(2)
    try vault.add("TRIGGER", "sk-any-owner-write-000000")
    let agent = try vault.store.read().document.agent(named: "short")
    XCTAssertFalse(agent.credentials[0].isLive)
    XCTAssertTrue(agent.credentials[0].grants.isEmpty)
    let key = try vault.store.read().document.key(named: "K")
    let header = try vault.store.read().document.header
    XCTAssertThrowsError(
      try AESGCM.open(
        key.sealedValue, key: try XCTUnwrap(kept[key.id]),
        associatedData: CryptoContext.value(vaultID: header.idHex, recordID: key.id, name: key.name)))
  }

  func testRecordUseCountsEveryUse() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let id = try RecordID.random()
    let agentID = try RecordID.random().description
    for _ in 0..<3 { try vault.store.recordUse(agentID: agentID, keyIDs: [id]) }
    let usage = vault.store.usage()
    XCTAssertEqual(usage.agents[agentID]?.uses, 3)
    XCTAssertEqual(usage.keys[id.description]?.uses, 3)
  }
}
