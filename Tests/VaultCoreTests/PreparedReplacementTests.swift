import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// A save with a passphrase that asks nobody begins its temporary file beside scrypt
/// (`PreparedReplacement`): the file written must be exactly what a full encoding writes, every
/// other save written whole, and no temporary left behind on any path.
final class PreparedReplacementTests: XCTestCase {
  /// What a passphrase file or variable gives: nobody is asked.
  private let unattended = VaultCredential(mayAskAPerson: false, passphrase: TestVault.passphrase)

  private func vault(keys: Int) throws -> TestVault {
    let vault = try TestVault()
    for index in 0..<keys { try vault.add("KEY_\(index)", "sk-test-value-\(index)-0123456789") }
    return vault
  }

  private func temporaries(in vault: TestVault) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: vault.directory).filter { $0.contains(".tmp-") }
  }

  /// The file on disk: it decodes, opens, and is byte for byte what encoding its document gives.
  private func assertWholeAndCanonical(_ vault: TestVault, file: StaticString = #filePath, line: UInt = #line) throws {
    let unlocked = try vault.store.unlock(passphrase: TestVault.passphrase)
    XCTAssertEqual(
      try vault.bytes(), VaultCodec.encode(unlocked.document, keyring: unlocked.keyring), file: file, line: line)
  }

  private func add(_ name: String, to vault: TestVault, credential: VaultCredential) throws {
    try vault.store.update(credential: credential) { document, keyring in
      try document.addKey(
        name: name, value: SecretBytes(copying: Array("sk-added-0123456789".utf8)), provider: nil, models: [],
        environmentNames: [], keyring: keyring, now: .now())
    }
  }

  func testAnAddWritesOnlyWhatFollowsTheKeyLinesWrittenBesideScrypt() throws {
    let vault = try self.vault(keys: 5)
    defer { vault.remove() }
    let events = try tracingSystemCalls { try add("ADDED", to: vault, credential: unattended) }
    XCTAssertEqual(events, ["fdatasync", "take", "fsync", "rename", "fsync"])
    try assertWholeAndCanonical(vault)
    XCTAssertEqual(try vault.store.value(named: "ADDED", passphrase: TestVault.passphrase).text, "sk-added-0123456789")
    XCTAssertEqual(try temporaries(in: vault), [])
  }

  func testAnAddToAnEmptyVaultContinuesTheOpeningAlone() throws {
    let vault = try self.vault(keys: 0)
    defer { vault.remove() }
    let events = try tracingSystemCalls { try add("FIRST", to: vault, credential: unattended) }
    XCTAssertEqual(events, ["fdatasync", "take", "fsync", "rename", "fsync"])
    try assertWholeAndCanonical(vault)
  }

  func testASaveThatBeginsOtherwiseIsWrittenWholeIntoTheSameTemporary() throws {
    let vault = try self.vault(keys: 5)
    defer { vault.remove() }
    // Removing a key in the middle: the key lines no longer follow each other as they stood.
    let removal = try tracingSystemCalls {
      try vault.store.update(credential: unattended) { document, _ in try document.removeKey("KEY_2") }
    }
    XCTAssertEqual(removal, ["fdatasync", "take emptied", "fsync", "rename", "fsync"], "the same temporary, emptied")
    try assertWholeAndCanonical(vault)
    // A change of the header (another generation would do): the opening differs.
    let setting = try tracingSystemCalls {
      try vault.store.update(credential: unattended) { document, _ in document.header.settings.agentKeyLimit = 7 }
    }
    XCTAssertEqual(setting, ["fdatasync", "take emptied", "fsync", "rename", "fsync"])
    try assertWholeAndCanonical(vault)
    XCTAssertEqual(try vault.store.read().document.keys.map(\.name), ["KEY_0", "KEY_1", "KEY_3", "KEY_4"])
    XCTAssertEqual(try temporaries(in: vault), [])
  }

  func testAPassphraseAPersonMayTypeBeginsNothingBeforeTheRecordsAreChecked() throws {
    let vault = try self.vault(keys: 2)
    defer { vault.remove() }
    let events = try tracingSystemCalls { try vault.add("ADDED", "sk-added-0123456789") }
    XCTAssertEqual(events, ["fsync", "rename", "fsync"])
  }

  func testAWrongPassphraseOrARefusedChangeLeavesNoTemporary() throws {
    let vault = try self.vault(keys: 3)
    defer { vault.remove() }
    let before = try vault.bytes()
    let wrong = VaultCredential(mayAskAPerson: false) { SecretBytes(copying: Array("not the passphrase".utf8)) }
    XCTAssertThrowsError(try add("ADDED", to: vault, credential: wrong)) { error in
      XCTAssertEqual(error as? VaultError, .wrongPassphrase)
    }
    XCTAssertThrowsError(try add("KEY_1", to: vault, credential: unattended))
    XCTAssertEqual(try vault.bytes(), before)
    XCTAssertEqual(try temporaries(in: vault), [])
  }

  func testATemporaryAnotherWriterRemovedIsWrittenAgainAndANameReusedIsLeftAlone() throws {
    let vault = try self.vault(keys: 3)
    defer { vault.remove() }
    // An older build's save, under the lock, removes every temporary: here inside the change,
    // which runs under the lock before the write. Someone then makes a file of the same name.
    var planted = ""
    var plantedDescriptor: Int32 = -1
    defer { if plantedDescriptor >= 0 { close(plantedDescriptor) } }
    let events = try tracingSystemCalls {
      try vault.store.update(credential: unattended) { document, keyring in
        let names = try temporaries(in: vault)
        XCTAssertEqual(names.count, 1, "the temporary begun beside scrypt")
        planted = vault.directory + "/" + (names.first ?? "")
        XCTAssertEqual(unlink(planted), 0)
        XCTAssertTrue(FileManager.default.createFile(atPath: planted, contents: Data("not yours".utf8)))
        // Held by its live writer, so the save's cleanup spares it too.
        plantedDescriptor = open(planted, O_RDONLY | O_CLOEXEC)
        XCTAssertEqual(flock(plantedDescriptor, LOCK_EX | LOCK_NB), 0)
        try document.addKey(
          name: "ADDED", value: SecretBytes(copying: Array("sk-added-0123456789".utf8)), provider: nil, models: [],
          environmentNames: [], keyring: keyring, now: .now())
      }
    }
    XCTAssertEqual(events, ["fdatasync", "fsync", "rename", "fsync"], "written whole, in a temporary of its own")
    try assertWholeAndCanonical(vault)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: planted)), Data("not yours".utf8))
  }

  func testStaleTemporariesAreAllButThoseALiveWriterHoldsLocked() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    let held = vault.directory + "/.vault.json.tmp-1-0011223344556677"
    let ours = vault.directory + "/.vault.json.tmp-\(getpid())-8899aabbccddeeff"
    let unnamed = vault.directory + "/.vault.json.tmp-somebody"
    for path in [held, ours, unnamed] {
      XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("old".utf8)))
    }
    // A writer alive: its descriptor open and flocked (whatever pid its name carries).
    let descriptor = open(held, O_RDONLY | O_CLOEXEC)
    XCTAssertGreaterThanOrEqual(descriptor, 0)
    defer { close(descriptor) }
    XCTAssertEqual(flock(descriptor, LOCK_EX | LOCK_NB), 0)
    VaultFile.removeStaleTemporaries(for: vault.store.path)
    XCTAssertEqual(try temporaries(in: vault), [".vault.json.tmp-1-0011223344556677"])
    // Its lock gone (the writer killed), the next cleaner removes it.
    XCTAssertEqual(flock(descriptor, LOCK_UN), 0)
    VaultFile.removeStaleTemporaries(for: vault.store.path)
    XCTAssertEqual(try temporaries(in: vault), [])
  }

  func testATemporaryBegunBesideScryptIsHeldLockedUntilItIsTaken() throws {
    let vault = try self.vault(keys: 2)
    defer { vault.remove() }
    try vault.store.update(credential: unattended) { document, keyring in
      // Under the lock, before the write: a cleaner (another save) spares it.
      VaultFile.removeStaleTemporaries(for: vault.store.path)
      XCTAssertEqual(try temporaries(in: vault).count, 1)
      try document.addKey(
        name: "ADDED", value: SecretBytes(copying: Array("sk-added-0123456789".utf8)), provider: nil, models: [],
        environmentNames: [], keyring: keyring, now: .now())
    }
    try assertWholeAndCanonical(vault)
    XCTAssertEqual(try temporaries(in: vault), [])
  }

  func testPiecesBeginWithAPrefixCutAnywhere() {
    let whole = Array("the file's bytes, in pieces".utf8)
    let pieces = [whole[0..<4], whole[4..<20], whole[20...]]
    XCTAssertTrue(BytePieces.begin(pieces, with: [whole[0..<2], whole[2..<9]]))
    XCTAssertTrue(BytePieces.begin(pieces, with: [ArraySlice(Array(whole[0..<27]))]))
    XCTAssertTrue(BytePieces.begin(pieces, with: []))
    XCTAssertFalse(BytePieces.begin(pieces, with: [ArraySlice(Array("the file's bytes, in pieces!".utf8))]))
    XCTAssertFalse(BytePieces.begin(pieces, with: [ArraySlice(Array("the fill".utf8))]))
    XCTAssertEqual(BytePieces.dropping(6, from: pieces).flatMap { $0 }, Array(whole[6...]))
    XCTAssertEqual(BytePieces.dropping(4, from: pieces).count, 2)
    XCTAssertEqual(BytePieces.dropping(27, from: pieces).count, 0)
    XCTAssertEqual(BytePieces.count(pieces), 27)
  }
}
