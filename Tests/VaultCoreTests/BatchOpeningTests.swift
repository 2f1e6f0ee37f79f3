import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// A large batch is opened in two halves at once (`BatchOpening`): the values must be the ones
/// key-by-key opening gives, in order, and a bad box must be refused with the error a single
/// run gives, naming the first bad key of the batch, whichever half it falls in.
final class BatchOpeningTests: XCTestCase {
  /// A vault of `count` keys added in one write (one KDF run), with an `--all` agent key.
  private func vault(keys count: Int) throws -> (TestVault, AgentToken) {
    let vault = try TestVault()
    let token = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      for index in 0..<count {
        try document.addKey(
          name: "KEY_\(index)", value: SecretBytes(copying: Array(Self.value(index).utf8)), provider: nil, models: [],
          environmentNames: [], keyring: keyring, now: .now())
      }
      return try document.createAgent(
        name: "all", scope: AgentScope(all: true), lifetime: 3_600, createdBy: "test", keyring: keyring, now: .now())
    }
    return (vault, token)
  }

  private static func value(_ index: Int) -> String { "value-\(index)-0123456789abcdef" }

  private func assertIntegrityError(naming name: String, _ body: () throws -> [SecretBytes]) {
    XCTAssertThrowsError(try body()) { error in
      guard case VaultError.integrity = error else { return XCTFail("\(error)") }
      XCTAssertTrue("\(error)".contains("\(name) "), "\(error)")
    }
  }

  func testTheDefaultThresholdSplitsAThousandKeyRunAndKeepsTheOrder() throws {
    XCTAssertLessThanOrEqual(BatchOpening.threshold, 300)
    let (vault, token) = try vault(keys: 300)
    defer { vault.remove() }
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    let keys = unlocked.document.keys
    let expected = (0..<300).map(Self.value)
    XCTAssertEqual(try unlocked.keyring.open(keys).map(\.text), expected)
    XCTAssertEqual(try unlocked.keyring.open(keys, splittingFrom: .max).map(\.text), expected)
    let session = try vault.store.openAgent(token: token)
    XCTAssertEqual(try session.keyring.open(keys).map(\.text), expected)
    // Out of key order, so the grants are looked up rather than taken in turn.
    XCTAssertEqual(try session.keyring.open(keys.reversed()).map(\.text), expected.reversed())
  }

  func testASplitBatchGivesWhatOpeningEachKeyGives() throws {
    let (vault, token) = try vault(keys: 7)
    defer { vault.remove() }
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    let keys = unlocked.document.keys
    let single = try keys.map { try unlocked.keyring.open($0).text }
    XCTAssertEqual(single, (0..<7).map(Self.value))
    for threshold in [2, 3, 7, 8] {
      XCTAssertEqual(try unlocked.keyring.open(keys, splittingFrom: threshold).map(\.text), single)
      let session = try vault.store.openAgent(token: token)
      XCTAssertEqual(try session.keyring.open(keys, splittingFrom: threshold).map(\.text), single)
    }
    XCTAssertEqual(try unlocked.keyring.open([], splittingFrom: 2).count, 0)
    XCTAssertEqual(try unlocked.keyring.open([keys[5]], splittingFrom: 2).map(\.text), [single[5]])
  }

  func testTheFirstBadKeyIsNamedWhicheverHalfItIsIn() throws {
    let (vault, token) = try vault(keys: 8)
    defer { vault.remove() }
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    let keys = unlocked.document.keys
    let session = try vault.store.openAgent(token: token)
    // Only in the second half (keys 4 to 7 of 8).
    var tampered = keys
    tampered[6].sealedValue = keys[1].sealedValue
    assertIntegrityError(naming: "KEY_6") { try unlocked.keyring.open(tampered, splittingFrom: 2) }
    assertIntegrityError(naming: "KEY_6") { try session.keyring.open(tampered, splittingFrom: 2) }
    // In both halves: the first half's key, as a single run would stop there.
    tampered[2].sealedDataKey = keys[3].sealedDataKey
    assertIntegrityError(naming: "KEY_2") { try unlocked.keyring.open(tampered, splittingFrom: 2) }
    assertIntegrityError(naming: "KEY_6") { try session.keyring.open(tampered, splittingFrom: 2) }
    tampered[2] = keys[2]
    tampered[1].sealedValue = keys[0].sealedValue
    assertIntegrityError(naming: "KEY_1") { try unlocked.keyring.open(tampered, splittingFrom: 2) }
    assertIntegrityError(naming: "KEY_1") { try session.keyring.open(tampered, splittingFrom: 2) }
  }

  func testAKeyOutsideTheScopeInTheSecondHalfIsRefused() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    for index in 0..<6 { try vault.add("OPENAI_\(index)", Self.value(index), provider: "openai") }
    try vault.add("PLAIN", "plain-value-cccccccccccccccc")
    let token = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: "bot", scope: AgentScope(providers: ["openai"]), lifetime: 3_600, createdBy: "test", keyring: keyring,
        now: .now())
    }
    let session = try vault.store.openAgent(token: token)
    let keys = try vault.store.read().document.keys
    XCTAssertEqual(try session.keyring.open(Array(keys[0..<6]), splittingFrom: 2).map(\.text), (0..<6).map(Self.value))
    XCTAssertThrowsError(try session.keyring.open(keys, splittingFrom: 2)) { error in
      guard case VaultError.permissionDenied = error else { return XCTFail("\(error)") }
      XCTAssertTrue("\(error)".contains("PLAIN"), "\(error)")
    }
  }
}
