import Foundation
import XCTest

@testable import VaultCore

/// A write whose passphrase asks nobody parses the records on a second thread while scrypt runs
/// (VaultCodec.decode(_:meanwhile:)). It must read exactly what the plain decode reads, and
/// report damage first, as the plain decode followed by the passphrase did.
final class ConcurrentDecodeTests: XCTestCase {
  private struct Meanwhile: Error {}

  private func vaultWithKeysAndAgents() throws -> TestVault {
    let vault = try TestVault()
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      for index in 0..<40 {
        try document.addKey(
          name: "KEY_\(index)", value: SecretBytes(copying: Array("sk-value-\(index)-0123456789".utf8)),
          provider: index % 2 == 0 ? "openai" : nil, models: [], environmentNames: [], keyring: keyring,
          now: .now())
      }
      _ = try document.createAgent(
        name: "bot", scope: AgentScope(all: true), lifetime: 3_600, createdBy: "tester", keyring: keyring,
        now: .now())
    }
    return vault
  }

  func testReadsWhatThePlainDecodeReads() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    let bytes = try vault.bytes()
    let plain = try VaultCodec.decode(bytes)
    let (concurrent, value) = try VaultCodec.decode(bytes) { header, members in
      XCTAssertEqual(header, plain.document.header)
      XCTAssertEqual(members, plain.document.members)
      return 42
    }
    XCTAssertEqual(value, 42)
    XCTAssertEqual(concurrent.document, plain.document)
    XCTAssertEqual(concurrent.checksum, plain.checksum)
    XCTAssertEqual(concurrent.mac, plain.mac)
    XCTAssertEqual(concurrent.headerDigest, plain.headerDigest)
    XCTAssertEqual(concurrent.document.keys.count, 40)
    XCTAssertTrue(concurrent.document.keys.allSatisfy { $0.encodedLine != nil })
  }

  /// A damaged key or agent line (checksum made to match) is the error, not what ran meanwhile.
  func testDamageComesBeforeWhatRanMeanwhile() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    let bytes = try vault.bytes()
    let layout = try VaultCodec.checkedLayout(bytes)
    for range in [layout.keyLines[17], layout.agentLines[0]] {
      var damaged = bytes
      // The record id's first hex digit made uppercase: valid JSON, not this format.
      let digit = range.lowerBound + Array("{\"id\":\"".utf8).count
      damaged[digit] = UInt8(ascii: "A")
      damaged = AgentAccessTests.recomputingChecksum(damaged)
      XCTAssertThrowsError(try VaultCodec.decode(damaged)) { error in
        guard case VaultError.integrity = error else { return XCTFail("not damage: \(error)") }
      }
      XCTAssertThrowsError(try VaultCodec.decode(damaged) { _, _ in throw Meanwhile() }) { error in
        guard case VaultError.integrity = error else { return XCTFail("not damage: \(error)") }
      }
      // The store's write reports the damage too, with a passphrase that asks nobody.
      try damaged.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: vault.store.path)) }
      let credential = VaultCredential(mayAskAPerson: false) { throw Meanwhile() }
      XCTAssertThrowsError(try vault.store.update(credential: credential) { _, _ in }) { error in
        guard case VaultError.integrity = error else { return XCTFail("not damage: \(error)") }
      }
      try bytes.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: vault.store.path)) }
    }
  }

  /// `readStretching` (vault run with a passphrase from a file): the same records as `read`, a
  /// wrong passphrase found only by `unlock`, damage before anything the credential throws, and
  /// nothing at all when the credential may ask a person.
  func testReadStretchingReadsAsReadDoesAndLeavesTheWrongPassphraseToUnlock() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    let right = VaultCredential(mayAskAPerson: false) { TestVault.passphrase() }
    let stretched = try XCTUnwrap(try vault.store.readStretching(right))
    XCTAssertEqual(stretched.locked.document, try vault.store.read().document)
    let unlocked = try vault.store.unlock(stretched)
    XCTAssertEqual(unlocked.document.keys.count, 40)
    let key = try XCTUnwrap(unlocked.document.keys.first { $0.name == "KEY_7" })
    XCTAssertEqual(try unlocked.keyring.open(key).copyBytes(), Array("sk-value-7-0123456789".utf8))

    let wrong = VaultCredential(mayAskAPerson: false) { SecretBytes(copying: Array("not the passphrase".utf8)) }
    let stretchedWrong = try XCTUnwrap(try vault.store.readStretching(wrong), "a wrong passphrase is found by unlock")
    XCTAssertThrowsError(try vault.store.unlock(stretchedWrong)) { error in
      guard case VaultError.wrongPassphrase = error else { return XCTFail("not a wrong passphrase: \(error)") }
    }

    XCTAssertNil(try vault.store.readStretching(VaultCredential(mayAskAPerson: true) { TestVault.passphrase() }))

    let bytes = try vault.bytes()
    let layout = try VaultCodec.checkedLayout(bytes)
    var damaged = bytes
    damaged[layout.keyLines[5].lowerBound + Array("{\"id\":\"".utf8).count] = UInt8(ascii: "A")
    damaged = AgentAccessTests.recomputingChecksum(damaged)
    try damaged.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: vault.store.path)) }
    XCTAssertThrowsError(try vault.store.readStretching(VaultCredential(mayAskAPerson: false) { throw Meanwhile() })) {
      error in
      guard case VaultError.integrity = error else { return XCTFail("not damage: \(error)") }
    }
  }

  /// `vault get` (`VaultStore.value(named:)`) with a passphrase that asks nobody checks the
  /// checksum and finds the line while scrypt runs: the same value as the plain path, and its
  /// errors in the same order: damage, then a name not in the file, then a wrong passphrase.
  func testValueNamedReadsAndRefusesAsThePlainPathDoes() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    func credential(_ passphrase: String?, mayAsk: Bool) -> VaultCredential {
      VaultCredential(mayAskAPerson: mayAsk) {
        guard let passphrase else { throw Meanwhile() }
        return SecretBytes(copying: Array(passphrase.utf8))
      }
    }
    let right = String(decoding: TestVault.passphrase().copyBytes(), as: UTF8.self)
    func error(_ name: String, _ passphrase: String?, mayAsk: Bool) -> Error? {
      do {
        _ = try vault.store.value(named: name, credential: credential(passphrase, mayAsk: mayAsk))
        return nil
      } catch {
        return error
      }
    }
    for mayAsk in [false, true] {
      XCTAssertEqual(
        try vault.store.value(named: "KEY_33", credential: credential(right, mayAsk: mayAsk)).copyBytes(),
        Array("sk-value-33-0123456789".utf8))
      guard case VaultError.keyNotFound? = error("NO_SUCH_KEY", right, mayAsk: mayAsk) else {
        return XCTFail("\(String(describing: error("NO_SUCH_KEY", right, mayAsk: mayAsk)))")
      }
      guard case VaultError.keyNotFound? = error("NO_SUCH_KEY", "not the passphrase", mayAsk: mayAsk) else {
        return XCTFail("a missing name comes before a wrong passphrase")
      }
      guard case VaultError.wrongPassphrase? = error("KEY_1", "not the passphrase", mayAsk: mayAsk) else {
        return XCTFail("\(String(describing: error("KEY_1", "not the passphrase", mayAsk: mayAsk)))")
      }
    }
    // Damaged (the checksum no longer matches): damage, whatever the credential does.
    var damaged = try vault.bytes()
    damaged[try VaultCodec.checkedLayout(damaged).keyLines[30].lowerBound + 20] ^= 0x01
    try damaged.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: vault.store.path)) }
    for mayAsk in [false, true] {
      for passphrase in [right, "not the passphrase", nil] {
        guard case VaultError.integrity? = error("KEY_1", passphrase, mayAsk: mayAsk) else {
          return XCTFail("not damage: \(String(describing: error("KEY_1", passphrase, mayAsk: mayAsk)))")
        }
      }
    }
  }

  /// A damaged file whose checksum no longer matches (a key line, the header's generation, the
  /// first line) is reported as damaged, whatever ran meanwhile threw, and never as what it threw.
  func testAChecksumMismatchComesBeforeWhatRanMeanwhile() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    let bytes = try vault.bytes()
    let layout = try VaultCodec.checkedLayout(bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    var edits: [[UInt8]] = []
    var key = bytes
    key[layout.keyLines[3].lowerBound + 20] ^= 0x01
    edits.append(key)
    edits.append(Array(text.replacingOccurrences(of: "\"generation\":2,", with: "\"generation\":9,").utf8))
    edits.append(Array(text.replacingOccurrences(of: "\"version\":2,", with: "\"version\":1,").utf8))
    for edited in edits {
      XCTAssertNotEqual(edited, bytes)
      XCTAssertThrowsError(try VaultCodec.decode(edited) { _, _ in throw Meanwhile() }) { error in
        guard case VaultError.integrity = error else { return XCTFail("not damage: \(error)") }
      }
    }
  }

  /// What ran meanwhile throws, the file is sound: its error comes out, after the thread ended.
  func testAnErrorMeanwhileIsTheError() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    let bytes = try vault.bytes()
    XCTAssertThrowsError(try VaultCodec.decode(bytes) { _, _ in throw Meanwhile() }) { error in
      XCTAssertTrue(error is Meanwhile, "\(error)")
    }
  }

  /// A write with a passphrase that asks nobody (the concurrent read) and one that may ask a
  /// person (the plain read) save the same way.
  func testWritesThroughEitherReading() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    for mayAsk in [false, true] {
      let credential = VaultCredential(mayAskAPerson: mayAsk, passphrase: TestVault.passphrase)
      try vault.store.update(credential: credential) { document, keyring in
        try document.addKey(
          name: mayAsk ? "ASKED" : "NOT_ASKED", value: SecretBytes(copying: Array("sk-more-0123456789".utf8)),
          provider: nil, models: [], environmentNames: [], keyring: keyring, now: .now())
      }
    }
    let document = try vault.store.unlock(passphrase: TestVault.passphrase).document
    XCTAssertEqual(document.keys.suffix(2).map(\.name), ["NOT_ASKED", "ASKED"])
    XCTAssertEqual(document.agents.first?.credentials.first?.grants.count, 42)
  }

  /// From a file of which only the head is read (`VaultFile.Opened`), the second thread reads
  /// the rest: the same bytes and document as a whole read, a header longer than the head read
  /// whole first, and damage anywhere still the error before what ran meanwhile.
  func testAFileOpenedWithItsHeadReadsWhatAWholeReadReads() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      for index in 0..<40 {
        try document.addKey(
          name: "MORE_\(index)", value: SecretBytes(copying: Array("sk-value-\(index)-0123456789".utf8)),
          provider: nil, models: [], environmentNames: [], keyring: keyring, now: .now())
      }
    }
    let bytes = try vault.bytes()
    XCTAssertLessThan(VaultFile.Opened.headByteCount, bytes.count, "the rest is read apart from the head")
    let opened = try VaultFile.Opened(vault.store.path)
    XCTAssertEqual(opened.head, Array(bytes.prefix(VaultFile.Opened.headByteCount)))
    let read = try VaultCodec.decode(opened) { header, _ in
      header.generation
    } afterwards: { bytes, _ in
      bytes.count
    }
    XCTAssertEqual(read.bytes, bytes)
    XCTAssertEqual(read.decoded.document, try VaultCodec.decode(bytes).document)
    XCTAssertEqual(read.value, try VaultCodec.decode(bytes).document.header.generation)
    XCTAssertEqual(read.extra, bytes.count)

    // A header line past the head (endpoints make it long): read whole, then the same.
    try vault.store.update(passphrase: TestVault.passphrase) { document, _ in
      document.header.settings.endpoints = (0..<60).map {
        ProviderEndpoint(
          provider: "provider" + String(100 + $0),
          baseURL: "https://gateway.example.com/" + String(repeating: "v", count: 300))
      }
    }
    let long = try vault.bytes()
    XCTAssertGreaterThan(try VaultFileLayout.header(in: long).upperBound, VaultFile.Opened.headByteCount)
    let wholeFirst = try VaultCodec.decode(try VaultFile.Opened(vault.store.path)) { _, _ in
      0
    } afterwards: { _, _ in
      ()
    }
    XCTAssertEqual(wholeFirst.bytes, long)
    XCTAssertEqual(wholeFirst.decoded.document, try VaultCodec.decode(long).document)

    // A key line damaged past the head: the damage, not what ran meanwhile.
    var damaged = bytes
    let last = try XCTUnwrap(try VaultCodec.checkedLayout(bytes).keyLines.last)
    XCTAssertGreaterThan(last.lowerBound, VaultFile.Opened.headByteCount)
    damaged[last.lowerBound + 3] ^= 0x01
    try damaged.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: vault.store.path)) }
    XCTAssertThrowsError(
      try VaultCodec.decode(try VaultFile.Opened(vault.store.path)) { _, _ -> Int in
        throw Meanwhile()
      } afterwards: {
        _, _ in
        ()
      }
    ) { error in
      XCTAssertEqual(error as? VaultError, .integrity("checksum mismatch"))
    }
  }

  /// A program writing the file in place after its head was read: the header scrypt ran for is
  /// not the file's. The file is read again, once; a second change is an I/O error that says to
  /// run the command again, not damage (whose hint is a backup).
  func testAFileWrittenInPlaceAfterItsHeadWasReadIsReadAgainOnce() throws {
    let vault = try vaultWithKeysAndAgents()
    defer { vault.remove() }
    let first = try vault.bytes()
    try vault.add("LATER", "sk-value-later-0123456789")
    let second = try vault.bytes()
    func writeInPlace(_ bytes: [UInt8]) throws {
      let descriptor = open(vault.store.path, O_WRONLY | O_CLOEXEC)
      XCTAssertGreaterThanOrEqual(descriptor, 0)
      defer { close(descriptor) }
      XCTAssertEqual(bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }, bytes.count)
      XCTAssertEqual(ftruncate(descriptor, off_t(bytes.count)), 0)
    }
    try writeInPlace(first)
    let opened = try VaultFile.Opened(vault.store.path)
    try writeInPlace(second)
    var generations: [UInt64] = []
    let read = try VaultCodec.decode(opened) { header, _ in
      generations.append(header.generation)
    } afterwards: {
      _, _ in
      ()
    }
    XCTAssertEqual(read.bytes, second)
    XCTAssertEqual(read.decoded.document.keys.last?.name, "LATER")
    let (old, new) = (try VaultCodec.decode(first).document.header, try VaultCodec.decode(second).document.header)
    XCTAssertEqual(generations, [old.generation, new.generation], "run again with the header read again")

    try writeInPlace(first)
    let once = try VaultFile.Opened(vault.store.path)
    try writeInPlace(second)
    XCTAssertThrowsError(
      try VaultCodec.checkedLayout(once, meanwhile: { _, _ in () }, records: { _, _ in () }, attempts: 1)
    ) { error in
      XCTAssertEqual(
        error as? VaultError,
        .io(
          "\(vault.store.path) changed while it was read (written in place by another program?); run the command again"
        ))
    }
  }
}
