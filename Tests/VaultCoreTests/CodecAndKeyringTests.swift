import Foundation
import VaultCore
import VaultCrypto
import XCTest

final class CodecAndKeyringTests: XCTestCase {
  func testDecodeOfEncodeIsTheSameDocument() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("ONE", "first-value-0123456789", provider: "openai", models: ["gpt-4o", "o3"])
    try vault.add("TWO", "second-value-0123456789")
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    let bytes = try vault.bytes()
    XCTAssertEqual(VaultCodec.encode(unlocked.document, keyring: unlocked.keyring), bytes)
    XCTAssertEqual(unlocked.document.header.generation, 3)
    XCTAssertEqual(try unlocked.keyring.open(unlocked.document.key(named: "TWO")).text, "second-value-0123456789")
  }

  func testSwappedCiphertextsBetweenRecordsDoNotDecrypt() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("ONE", "first-value-0123456789")
    try vault.add("TWO", "second-value-0123456789")
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    var one = try unlocked.document.key(named: "ONE")
    let two = try unlocked.document.key(named: "TWO")
    one.sealedValue = two.sealedValue
    XCTAssertThrowsError(try unlocked.keyring.open(one)) { XCTAssertTrue(isIntegrity($0)) }
    one = try unlocked.document.key(named: "ONE")
    one.sealedDataKey = two.sealedDataKey
    one.sealedValue = two.sealedValue
    XCTAssertThrowsError(try unlocked.keyring.open(one)) { XCTAssertTrue(isIntegrity($0)) }
    var renamedByHand = two
    renamedByHand.name = "ONE_RENAMED"
    XCTAssertThrowsError(try unlocked.keyring.open(renamedByHand)) { XCTAssertTrue(isIntegrity($0)) }
  }

  /// The batch `open` (`vault run` with the passphrase) gives what `open` gives key by key, and
  /// refuses a swapped box in the middle of a batch as `open` does, for the key it belongs to.
  func testOpeningABatchGivesWhatOpeningEachKeyGives() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    for index in 0..<6 { try vault.add("KEY_\(index)", "value-\(index)-0123456789abcdef") }
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    let keys = unlocked.document.keys
    let batch = try unlocked.keyring.open(keys).map { $0.copyBytes() }
    XCTAssertEqual(batch, try keys.map { try unlocked.keyring.open($0).copyBytes() })
    XCTAssertEqual(batch[3], Array("value-3-0123456789abcdef".utf8))
    XCTAssertEqual(try unlocked.keyring.open([]).count, 0)
    var tampered = keys
    tampered[4].sealedValue = keys[2].sealedValue
    XCTAssertThrowsError(try unlocked.keyring.open(tampered)) { error in
      XCTAssertTrue(isIntegrity(error))
      XCTAssertTrue("\(error)".contains("KEY_4"), "\(error)")
    }
    tampered = keys
    tampered[1].sealedDataKey = keys[0].sealedDataKey
    XCTAssertThrowsError(try unlocked.keyring.open(tampered)) { XCTAssertTrue(isIntegrity($0)) }
  }

  func testRenameKeepsTheValueAndTheRecordIdentity() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("OLD", "renamed-value-0123456789")
    let before = try vault.store.read().document.key(named: "OLD")
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.renameKey("OLD", to: "NEW", keyring: keyring, now: .now())
    }
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    let after = try unlocked.document.key(named: "NEW")
    XCTAssertEqual(after.id, before.id)
    XCTAssertEqual(after.sealedDataKey, before.sealedDataKey)
    XCTAssertEqual(try unlocked.keyring.open(after).text, "renamed-value-0123456789")
    XCTAssertNil(unlocked.document.index(of: "OLD"))
  }

  func testPasswdRewrapsOnlyTheMasterKey() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("KEEP", "value-that-stays-0123456789")
    let before = try vault.store.read().document
    let newPassphrase = { SecretBytes(copying: Array("a new passphrase".utf8)) }
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      document.header = try keyring.rewrap(document.header, passphrase: newPassphrase(), logN: TestVault.logN)
    }
    let after = try vault.store.read().document
    XCTAssertEqual(after.keys, before.keys)
    XCTAssertNotEqual(after.header.passphraseSlot?.kdf.salt, before.header.passphraseSlot?.kdf.salt)
    XCTAssertThrowsError(try vault.store.unlock(passphrase: TestVault.passphrase)) {
      XCTAssertEqual($0 as? VaultError, .wrongPassphrase)
    }
    let unlocked = try vault.store.unlock(passphrase: newPassphrase)
    XCTAssertEqual(try unlocked.keyring.open(unlocked.document.key(named: "KEEP")).text, "value-that-stays-0123456789")
  }

  func testAFailedChangeWritesNothing() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("ONE", "first-value-0123456789")
    let before = try vault.bytes()
    XCTAssertThrowsError(
      try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
        try document.addKey(
          name: "ONE", value: SecretBytes(copying: [0x61]), provider: nil, models: [], environmentNames: [],
          keyring: keyring, now: .now())
      })
    XCTAssertEqual(try vault.bytes(), before)
  }

  func testUnknownVersionIsUnsupportedAndADamagedOneIsIntegrity() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    var bytes = try vault.bytes()
    let versionDigit = try XCTUnwrap(firstRange(of: Array("\"version\":2".utf8), in: bytes)).upperBound - 1
    bytes[versionDigit] = UInt8(ascii: "4")
    // The checksum no longer matches: a damaged file, not a newer one.
    XCTAssertThrowsError(try VaultCodec.decode(bytes)) { XCTAssertTrue(isIntegrity($0)) }
    let covered = bytes.count - 152
    let checksum = Array(SHA256.hash(Array(bytes[0..<covered])).map { String(format: "%02x", $0) }.joined().utf8)
    bytes.replaceSubrange((covered + 12)..<(covered + 76), with: checksum)
    XCTAssertThrowsError(try VaultCodec.decode(bytes)) { error in
      guard case VaultError.unsupportedFormat(let message) = error else { return XCTFail("\(error)") }
      XCTAssertTrue(message.contains("version 4"), message)
    }
  }

  private func isIntegrity(_ error: Error) -> Bool {
    if case VaultError.integrity = error { return true }
    return false
  }

  private func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
    guard haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count)
    where haystack[start..<(start + needle.count)].elementsEqual(needle) {
      return start..<(start + needle.count)
    }
    return nil
  }
}
