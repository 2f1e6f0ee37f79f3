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

  func testTheDefaultThresholdSplitsABatchOf300KeysAndKeepsTheOrder() throws {
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

  /// Whatever is wrong, and in whichever half, a split run throws what one pass throws: the
  /// first bad key's error, of either kind (outside the scope, or a box that does not open).
  func testASplitRunThrowsWhatASinglePassThrows() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let token = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      for index in 0..<8 {
        try document.addKey(
          name: "KEY_\(index)", value: SecretBytes(copying: Array(Self.value(index).utf8)),
          provider: index % 2 == 0 ? "openai" : "anthropic", models: [], environmentNames: [], keyring: keyring,
          now: .now())
      }
      return try document.createAgent(
        name: "bot", scope: AgentScope(providers: ["openai"]), lifetime: 3_600, createdBy: "test", keyring: keyring,
        now: .now())
    }
    let keys = try vault.store.read().document.keys
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    let session = try vault.store.openAgent(token: token)
    func broken(_ changes: [(Int, Int)]) -> [ProviderKey] {
      var tampered = keys
      for (index, donor) in changes { tampered[index].sealedValue = keys[donor].sealedValue }
      return tampered
    }
    func errorText(_ body: () throws -> [SecretBytes]) -> String {
      do {
        _ = try body()
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    let cases: [(keys: [ProviderKey], owner: String?, agent: String)] = [
      // Out of the scope in the first half, a bad box in the second.
      (broken([(6, 0)]), "KEY_6", "KEY_1"),
      // A bad box in the first half, out of the scope in the second (the even keys, then KEY_5).
      ([keys[0], broken([(2, 0)])[2], keys[4], keys[5]], "KEY_2", "KEY_2"),
      // Two bad boxes in the second half: the earlier one.
      (Array(broken([(4, 0), (6, 0)]).enumerated().filter { $0.offset % 2 == 0 }.map(\.element)), "KEY_4", "KEY_4"),
    ]
    for (index, testCase) in cases.enumerated() {
      let single = errorText { try session.keyring.open(testCase.keys, splittingFrom: .max) }
      XCTAssertTrue(single.contains("\(testCase.agent) "), "case \(index): \(single)")
      XCTAssertEqual(errorText { try session.keyring.open(testCase.keys, splittingFrom: 2) }, single, "case \(index)")
      if let owner = testCase.owner {
        let single = errorText { try unlocked.keyring.open(testCase.keys, splittingFrom: .max) }
        XCTAssertTrue(single.contains("\(owner) "), "case \(index): \(single)")
        XCTAssertEqual(
          errorText { try unlocked.keyring.open(testCase.keys, splittingFrom: 2) }, single, "case \(index)")
      }
    }
    // A scoped token's keys with gaps between them: the second half starts off its grant's
    // position, and still opens the right values.
    let readable = keys.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
    XCTAssertEqual(
      try session.keyring.open(readable, splittingFrom: 2).map(\.text), [0, 2, 4, 6].map(Self.value))
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
