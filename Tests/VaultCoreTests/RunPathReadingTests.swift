import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// `vault run` with an agent key reads its keys through shortcuts (names and masks taken straight
/// from the line, hex and base64 through tables, grants found in key order, the file read in one
/// piece); each must give exactly what the general way gives, and refuse what it refuses.
final class RunPathReadingTests: XCTestCase {
  /// A key line with its name or mask replaced: the fast reader gives the general reader's key,
  /// or gives up where the general reader refuses it.
  func testNamesAndMasksReadTheSameEitherWay() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("PLAIN", "sk-plain-value-0123456789")
    let bytes = try vault.bytes()
    let range = try XCTUnwrap(try VaultCodec.checkedLayout(bytes).keyLines.first)
    let line = String(decoding: bytes[range], as: UTF8.self)
    let masked = try XCTUnwrap(VaultCodec.scanKey(bytes, range)).masked
    let names = [
      "_A1", "a", "Z9_", String(repeating: "N", count: 128), String(repeating: "N", count: 129), "1AB", "A-B", "",
      "\\u0041BC", "A\\\"B", "É", "A B",
    ]
    let masks = [
      "abc…xyz", "********", "ab\\\"…xyz", "a\\\\c…xyz", "abc…xy\u{7f}", "abcd…xyz", "ab…xyz", "é-a…xyz",
      "abc…x\\u0001z",
      "abc-xyz", "abc…xyzw", "???…???", "   …   ",
    ]
    let edits =
      names.map { ("\"name\":\"PLAIN\"", "\"name\":\"\($0)\"") }
      + masks.map { ("\"masked\":\"\(masked)\"", "\"masked\":\"\($0)\"") }
    for (from, to) in edits {
      let edited = Array(line.replacingOccurrences(of: from, with: to).utf8)
      let general = try? VaultCodec.decodeKeyInGeneral(edited, 0..<edited.count, index: 0)
      let fast = VaultCodec.scanKey(edited, 0..<edited.count)
      if let fast {
        XCTAssertEqual(fast, general, to)
      } else {
        // Given up: the general reader refuses it, or reads a spelling the writer never uses.
        XCTAssertTrue(general == nil || to.contains("\\u0041") || to.contains("\\u0001"), "fast reader refused: \(to)")
      }
    }
  }

  /// Base64 through the table against Foundation's decoder plus the canonical check: every
  /// byte value in every position of a short text.
  func testBase64AcceptsExactlyTheCanonicalSpelling() {
    for base in ["QUJD", "QUI=", "QQ==", "QUJDREVG", "QUJDRA=="] {
      for position in 0..<base.utf8.count {
        for byte in 0...255 {
          var text = Array(base.utf8)
          text[position] = UInt8(byte)
          let decoded = text.withUnsafeBufferPointer { Base64.decode($0) }
          let reference = Data(base64Encoded: Data(text)).map { [UInt8]($0) }.flatMap {
            Base64.encode($0).utf8.elementsEqual(text) ? $0 : nil
          }
          XCTAssertEqual(decoded, reference, "\(String(decoding: text, as: UTF8.self))")
        }
      }
    }
  }

  /// Record ids through the table: only lowercase hex digits, in every position.
  func testRecordIDsAcceptOnlyLowercaseHexInEveryPosition() {
    let hex = Array("0123456789abcdef0fedcba987654321".utf8)
    let digits = Set("0123456789abcdef".utf8)
    for position in 0..<32 {
      for byte in 0...255 {
        var text = hex
        text[position] = UInt8(byte)
        let id = text.withUnsafeBufferPointer { RecordID(hexDigits: $0) }
        XCTAssertEqual(id != nil, digits.contains(UInt8(byte)), "byte \(byte) at \(position)")
        if let id { XCTAssertEqual(Array(id.description.utf8), text) }
      }
    }
  }

  /// Keys reordered after the token was made (its grants stay in the old order): a run still
  /// opens each key with its own grant, in any order asked.
  func testGrantsOutOfKeyOrderStillOpenTheirKeys() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let values = ["sk-first-aaaaaaaaaaaaaaaa", "sk-second-bbbbbbbbbbbbbbb", "sk-third-ccccccccccccccc"]
    for (index, value) in values.enumerated() { try vault.add("KEY_\(index)", value, provider: "openai") }
    let token = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: "all", scope: AgentScope(all: true), lifetime: 3_600, createdBy: "test", keyring: keyring, now: .now())
    }
    try vault.store.update(passphrase: TestVault.passphrase) { document, _ in _ = try document.makeDefault("KEY_2") }
    let access = try AgentAccess(store: vault.store, token: token, now: .now())
    XCTAssertEqual(access.readableKeys.map(\.name), ["KEY_2", "KEY_0", "KEY_1"])
    let expected = Dictionary(uniqueKeysWithValues: values.enumerated().map { ("KEY_\($0.offset)", $0.element) })
    for keys in [access.readableKeys, access.readableKeys.reversed(), [access.readableKeys[1]]] {
      let opened = try access.session.keyring.open(keys)
      XCTAssertEqual(opened.map { String(decoding: $0.copyBytes(), as: UTF8.self) }, keys.map { expected[$0.name] })
    }
    for key in access.readableKeys {
      XCTAssertEqual(String(decoding: try access.open(key).copyBytes(), as: UTF8.self), expected[key.name])
    }
  }

  /// An opener keeps the key it holds for the next box under the same key object; another
  /// object, another key, or a failed box in between changes nothing it opens.
  func testOpenerReusesAKeyOnlyWhereItGivesTheSameResult() throws {
    let key = try SecureRandom.secret(count: 32)
    let sameBytes = SecretBytes(copying: key.copyBytes())
    let other = try SecureRandom.secret(count: 32)
    let opener = try AESGCM.Opener()
    let plan: [(SecretBytes, SecretBytes, Bool)] = [
      (key, key, true), (key, key, true), (key, key, false), (key, key, true), (sameBytes, key, true),
      (key, sameBytes, true), (other, other, true), (key, other, false), (key, key, true), (key, key, true),
    ]
    for (round, (opening, sealing, intact)) in plan.enumerated() {
      let message = Array("value \(round)".utf8)
      let context = Array("context \(round)".utf8)
      var box = try AESGCM.seal(message, key: sealing, associatedData: context)
      if !intact { box[box.count - 1] ^= 1 }
      let sameKey = opening.copyBytes() == sealing.copyBytes()
      let result = try? context.withUnsafeBytes { try opener.open(box, key: opening, associatedData: $0) }
      XCTAssertEqual(result?.copyBytes(), intact && sameKey ? message : nil, "round \(round)")
    }
  }
}
