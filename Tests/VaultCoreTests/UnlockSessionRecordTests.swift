import VaultCore
import VaultCrypto
import XCTest

/// The record an unlock session holds: it survives its encoding, opens only the file (vault id
/// and passphrase slot) it was made for, only until it expires, and a store offered a record
/// that does not fit falls back to the passphrase.
final class UnlockSessionRecordTests: XCTestCase {
  func testARecordOpensItsOwnFileUntilItExpires() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("MY_API", "sk-proj-record-test-value")
    let locked = try vault.store.read()
    let header = locked.document.header
    let unlocked = try vault.store.unlock(locked, passphrase: TestVault.passphrase)
    let now = Timestamp.now()
    let record = try unlocked.keyring.sessionRecord(
      for: locked.document, access: .passphrase, expires: Timestamp(secondsSinceEpoch: now.secondsSinceEpoch + 60))

    let decoded = try XCTUnwrap(UnlockSessionRecord.decode(record.encoded()))
    XCTAssertEqual(decoded.vaultID, header.id)
    XCTAssertEqual(decoded.expires, record.expires)
    XCTAssertTrue(decoded.access(header, members: [], now: now) == .passphrase)
    XCTAssertNil(decoded.access(header, members: [], now: Timestamp(secondsSinceEpoch: now.secondsSinceEpoch + 60)))

    var otherVault = header
    otherVault.id[0] ^= 1
    XCTAssertNil(decoded.access(otherVault, members: [], now: now))
    var rewrapped = header
    rewrapped.passphraseSlot?.sealedMasterKey[20] ^= 1
    XCTAssertNil(decoded.access(rewrapped, members: [], now: now))

    // Any other length or magic is not a record.
    var bytes = record.encoded().copyBytes()
    XCTAssertNil(UnlockSessionRecord.decode(SecretBytes(copying: bytes.dropLast())))
    bytes[0] = UInt8(ascii: "X")
    XCTAssertNil(UnlockSessionRecord.decode(SecretBytes(copying: bytes)))
  }

  func testTheStoreUsesAFittingSessionAndOtherwiseThePassphrase() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("MY_API", "sk-proj-record-test-value")
    let locked = try vault.store.read()
    let unlocked = try vault.store.unlock(locked, passphrase: TestVault.passphrase)
    let record = try unlocked.keyring.sessionRecord(
      for: locked.document, access: .passphrase,
      expires: Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch + 60))

    var asked = 0
    let session = VaultCredential(
      session: { _ in record },
      passphrase: {
        asked += 1
        return TestVault.passphrase()
      })
    XCTAssertEqual(
      try vault.store.value(named: "MY_API", credential: session).copyBytes(), Array("sk-proj-record-test-value".utf8))
    try vault.store.update(credential: session) { document, _ in document.header.settings.agentKeyLimit = 3 }
    XCTAssertEqual(asked, 0)

    // After a passphrase change the same record no longer fits: the passphrase is asked.
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      document.header = try keyring.rewrap(document.header, passphrase: TestVault.passphrase(), logN: TestVault.logN)
    }
    _ = try vault.store.unlock(credential: session)
    XCTAssertEqual(asked, 1)
  }
}
