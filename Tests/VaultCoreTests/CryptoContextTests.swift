import VaultCrypto
import XCTest

@testable import VaultCore

/// The byte-built contexts `vault run` opens boxes with must be the very bytes the string forms
/// seal with: a difference would make every key fail to open, or worse, bind something else.
final class CryptoContextTests: XCTestCase {
  func testTokenContextsMatchTheStringForms() throws {
    let vaultID = "00112233445566778899aabbccddeeff"
    let retireAt = Timestamp(secondsSinceEpoch: 1_800_000_000)
    let limitSets = [AgentLimits.none, AgentLimits(requestsPerMinute: 60, tokensPerDay: 2_000_000)]
    for limits in limitSets {
      for retire in [nil, retireAt] {
        var contexts = CryptoContext.TokenContexts(
          vaultID: vaultID, agentID: "agent-id", tokenID: "0123456789abcdef", retireAt: retire, limits: limits)
        for endpoint in [nil, "https://llm.example.com/v1"] {
          for _ in 0..<3 {
            let id = try RecordID.random()
            let expected = CryptoContext.grant(
              vaultID: vaultID, agentID: "agent-id", tokenID: "0123456789abcdef", recordID: id, retireAt: retire,
              policy: GrantPolicy(limits: limits, endpoint: endpoint))
            XCTAssertEqual(contexts.grant(recordID: id, endpoint: endpoint) { Array($0) }, expected)
            let name = "KEY_\(Int.random(in: 0..<1000))"
            XCTAssertEqual(
              contexts.value(recordID: id, name: name) { Array($0) },
              CryptoContext.value(vaultID: vaultID, recordID: id, name: name))
          }
        }
      }
    }
  }

  func testKeyContextsMatchTheStringForms() throws {
    for vaultID in ["00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100"] {
      var contexts = CryptoContext.KeyContexts(vaultID: vaultID)
      for round in 0..<4 {
        let id = try RecordID.random()
        XCTAssertEqual(
          contexts.dataKey(recordID: id) { Array($0) }, CryptoContext.dataKey(vaultID: vaultID, recordID: id))
        // A long name after a short one: the reused buffer holds only the latest context.
        let name = round % 2 == 0 ? "K" : String(repeating: "LONG_NAME_", count: 12)
        XCTAssertEqual(
          contexts.value(recordID: id, name: name) { Array($0) },
          CryptoContext.value(vaultID: vaultID, recordID: id, name: name))
        XCTAssertEqual(
          contexts.dataKey(recordID: id) { Array($0) }, CryptoContext.dataKey(vaultID: vaultID, recordID: id))
      }
    }
  }

  func testOpenerOpensWhatSealWroteAndRefusesTampering() throws {
    let key = try SecureRandom.secret(count: 32)
    let otherKey = try SecureRandom.secret(count: 32)
    let opener = try AESGCM.Opener()
    for round in 0..<4 {
      let message = Array("value \(round)".utf8)
      let aad = Array("context \(round)".utf8)
      let box = try AESGCM.seal(message, key: round % 2 == 0 ? key : otherKey, associatedData: aad)
      var tampered = box
      tampered[tampered.count - 1] ^= 1
      // A failed box leaves the opener usable for the next one.
      XCTAssertThrowsError(
        try aad.withUnsafeBytes { try opener.open(tampered, key: round % 2 == 0 ? key : otherKey, associatedData: $0) }
      ) { error in XCTAssertEqual(error as? VaultCryptoError, .authenticationFailure) }
      XCTAssertThrowsError(
        try Array("other".utf8).withUnsafeBytes {
          try opener.open(box, key: round % 2 == 0 ? key : otherKey, associatedData: $0)
        })
      XCTAssertThrowsError(
        try aad.withUnsafeBytes { try opener.open(box, key: round % 2 == 0 ? otherKey : key, associatedData: $0) })
      let opened = try aad.withUnsafeBytes {
        try opener.open(box, key: round % 2 == 0 ? key : otherKey, associatedData: $0)
      }
      XCTAssertEqual(opened.copyBytes(), message)
      let again = try aad.withUnsafeBytes {
        try opener.open(box, key: round % 2 == 0 ? key : otherKey, associatedData: $0)
      }
      XCTAssertEqual(again.copyBytes(), message)
    }
  }
}
