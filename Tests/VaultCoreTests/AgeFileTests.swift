import VaultCore
import VaultCrypto
import XCTest

/// Our own age files: round trips through `AgeFile`, the header encoding, and tampering. The
/// CCTV vectors (AgeVectorTests) and the real `age` binary (AgeInteropTests) check that the
/// format is age's; these check the edges of our writer and reader.
final class AgeFileTests: XCTestCase {
  private func assertAgeError(
    _ expected: AgeError, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Any
  ) {
    XCTAssertThrowsError(try body(), message, file: file, line: line) { error in
      XCTAssertEqual(error as? AgeError, expected, message, file: file, line: line)
    }
  }

  private func assertKind(
    _ expected: String, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Any
  ) {
    XCTAssertThrowsError(try body(), message, file: file, line: line) { error in
      let kind: String
      switch error as? AgeError {
      case .headerFailure?: kind = "header"
      case .payloadFailure?: kind = "payload"
      case .hmacFailure?: kind = "hmac"
      case .noIdentityMatched?: kind = "no match"
      default: kind = "\(error)"
      }
      XCTAssertEqual(kind, expected, message, file: file, line: line)
    }
  }

  /// Sizes around the 64 KiB chunk: empty (one empty final chunk), one byte, a chunk less one, a
  /// full chunk (no empty chunk after it), a chunk and a byte, two full chunks.
  func testRoundTripsAroundChunkBoundaries() throws {
    let identity = try AgeIdentity.generate()
    for size in [0, 1, 65535, 65536, 65537, 131072] {
      let plaintext = try SecureRandom.bytes(count: size)
      let file = try AgeFile.encrypt(plaintext, to: [identity.recipient])
      let chunks = max(1, (size + 65535) / 65536)
      let header = try AgeHeader.parse(file)
      XCTAssertEqual(file.count - header.payloadOffset, 16 + size + 16 * chunks, "\(size) bytes: payload length")
      let opened = try AgeFile.decrypt(file, identities: [identity])
      XCTAssertEqual(opened.count, size)
      XCTAssertTrue(opened.copyBytes() == plaintext, "\(size) bytes: the plaintext differs")
    }
  }

  func testSecretPlaintextAndSeveralRecipients() throws {
    let members = try (0..<3).map { _ in try AgeIdentity.generate() }
    let masterKey = try SecureRandom.secret(count: 32)
    let file = try AgeFile.encrypt(masterKey, to: members.map(\.recipient))
    let header = try AgeHeader.parse(file).header
    XCTAssertEqual(header.stanzas.count, 3)
    XCTAssertEqual(Set(header.stanzas.map(\.arguments[0])).count, 3, "one fresh ephemeral share per stanza")
    for member in members {
      XCTAssertTrue(try AgeFile.decrypt(file, identities: [member]).copyBytes() == masterKey.copyBytes())
    }
    assertAgeError(.noIdentityMatched) { try AgeFile.decrypt(file, identities: [try AgeIdentity.generate()]) }
  }

  /// Two encryptions of one plaintext share nothing: file key, shares and nonce are fresh.
  func testEncryptionsDiffer() throws {
    let identity = try AgeIdentity.generate()
    let first = try AgeFile.encrypt([1, 2, 3], to: [identity.recipient])
    let second = try AgeFile.encrypt([1, 2, 3], to: [identity.recipient])
    XCTAssertNotEqual(first, second)
    let firstHeader = try AgeHeader.parse(first)
    let secondHeader = try AgeHeader.parse(second)
    XCTAssertNotEqual(firstHeader.header.stanzas[0].arguments, secondHeader.header.stanzas[0].arguments)
    XCTAssertNotEqual(firstHeader.header.mac, secondHeader.header.mac)
    XCTAssertNotEqual(
      Array(first[firstHeader.payloadOffset..<(firstHeader.payloadOffset + 16)]),
      Array(second[secondHeader.payloadOffset..<(secondHeader.payloadOffset + 16)]))
  }

  func testNoRecipientsAndLowOrderRecipientsAreRefused() throws {
    assertAgeError(.noRecipients) { try AgeFile.encrypt([1], to: []) }
    let lowOrder = try AgeRecipient(publicKey: [UInt8](repeating: 0, count: 32))
    XCTAssertThrowsError(try AgeFile.encrypt([1], to: [lowOrder])) { error in
      guard case .malformedKey? = error as? AgeError else { return XCTFail("\(error)") }
    }
    XCTAssertThrowsError(try AgeRecipient(publicKey: [UInt8](repeating: 9, count: 31)))
  }

  /// The body encoding: base64 in 64-column lines, and always a final line shorter than 64, so
  /// a body of 0 or 48 bytes gets an empty final line. Parsing gives back the same header.
  func testHeaderEncodingAndParsingRoundTrip() throws {
    let stanzas = [0, 1, 47, 48, 49, 96, 100].map { size in
      AgeStanza(
        type: "test", arguments: ["size-\(size)", "x"], body: (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) })
    }
    let header = AgeHeader(stanzas: stanzas, mac: [UInt8](repeating: 0xAB, count: 32))
    let encoded = header.encoded()
    let text = String(decoding: encoded, as: UTF8.self)
    XCTAssertTrue(text.hasPrefix("age-encryption.org/v1\n-> test size-0 x\n\n-> test size-1 x\nAA\n"), text)
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix("-") {
      XCTAssertLessThanOrEqual(line.count, 64, "body line \(line)")
    }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let after48 = lines.firstIndex(of: "-> test size-48 x")!
    XCTAssertEqual(lines[after48 + 1].count, 64)
    XCTAssertEqual(lines[after48 + 2], "", "a full last line is followed by an empty one")
    let payload: [UInt8] = [0xFF, 0x00, 0x0A]
    let parsed = try AgeHeader.parse(encoded + payload)
    XCTAssertEqual(parsed.header, header)
    XCTAssertEqual(parsed.payloadOffset, encoded.count)
    XCTAssertEqual(Array((encoded + payload)[parsed.payloadOffset...]), payload)
    XCTAssertEqual(header.encodedWithoutMAC() + Array(" ".utf8), Array(encoded.prefix(encoded.count - 44)))
  }

  /// A header with no stanza is refused, as age.md's grammar asks (`1*stanza`).
  func testHeaderWithoutStanzasIsRefused() {
    let text = "age-encryption.org/v1\n--- " + String(repeating: "A", count: 43) + "\n"
    assertKind("header") { try AgeHeader.parse(Array(text.utf8)) }
  }

  /// Header shapes the CCTV vectors do not spell out: each is a header failure.
  func testMoreMalformedHeaders() {
    let mac = " " + AgeBase64Stand.mac + "\n"
    let stanza = "-> X25519 " + String(repeating: "A", count: 43) + "\n" + String(repeating: "A", count: 43) + "\n"
    let cases: [(String, String)] = [
      ("version line without LF", "age-encryption.org/v1"),
      ("nothing after the version line", "age-encryption.org/v1\n"),
      ("no MAC line", "age-encryption.org/v1\n" + stanza),
      ("MAC line without LF", "age-encryption.org/v1\n" + stanza + "---" + mac.dropLast()),
      ("31-byte MAC", "age-encryption.org/v1\n" + stanza + "--- " + String(repeating: "A", count: 42) + "\n"),
      ("33-byte MAC", "age-encryption.org/v1\n" + stanza + "--- " + String(repeating: "A", count: 44) + "\n"),
      ("tab in a stanza line", "age-encryption.org/v1\n-> X25519\tA\n\n---" + mac),
      ("leading space", "age-encryption.org/v1\n ->  X25519\n\n---" + mac),
      ("stanza body without final line", "age-encryption.org/v1\n-> a\n" + String(repeating: "A", count: 64)),
      ("padded body", "age-encryption.org/v1\n-> a\nAA==\n---" + mac),
      ("version with a space", "age-encryption.org/v1 \n" + stanza + "---" + mac),
    ]
    for (name, text) in cases {
      assertKind("header", name) { try AgeHeader.parse(Array(text.utf8)) }
    }
    XCTAssertNoThrow(try AgeHeader.parse(Array(("age-encryption.org/v1\n" + stanza + "---" + mac).utf8)))
  }

  /// Flipping any one byte of a small file is caught: in the header as a header, no-match or
  /// HMAC failure; in the payload (nonce included, as it changes the payload key) as a failure
  /// of its one chunk. Nothing decrypts.
  func testEveryByteFlipIsCaught() throws {
    let identity = try AgeIdentity.generate()
    let file = try AgeFile.encrypt(Array("a master key".utf8), to: [identity.recipient])
    let payloadOffset = try AgeHeader.parse(file).payloadOffset
    for index in file.indices {
      var tampered = file
      tampered[index] ^= 0x01
      XCTAssertThrowsError(try AgeFile.decrypt(tampered, identities: [identity]), "byte \(index) flipped") { error in
        guard let error = error as? AgeError else { return XCTFail("byte \(index): \(error)") }
        if index >= payloadOffset {
          XCTAssertEqual(error, .payloadFailure("chunk 0 does not authenticate"), "byte \(index) (payload)")
        }
      }
    }
  }

  func testTruncationAndTrailingDataAreRefused() throws {
    let identity = try AgeIdentity.generate()
    let plaintext = try SecureRandom.bytes(count: 65536 + 10)
    let file = try AgeFile.encrypt(plaintext, to: [identity.recipient])
    let payloadOffset = try AgeHeader.parse(file).payloadOffset
    // Cut after the first (full, not last) chunk: a payload failure, never a short plaintext.
    let firstChunkEnd = payloadOffset + 16 + 65536 + 16
    assertKind("payload", "cut after the first chunk") {
      try AgeFile.decrypt(Array(file[..<firstChunkEnd]), identities: [identity])
    }
    assertKind("payload", "one byte short") { try AgeFile.decrypt(Array(file.dropLast()), identities: [identity]) }
    assertKind("payload", "a tag only") {
      try AgeFile.decrypt(Array(file[..<(firstChunkEnd + 16)]), identities: [identity])
    }
    assertKind("payload", "trailing byte") { try AgeFile.decrypt(file + [0], identities: [identity]) }
    assertKind("payload", "no chunk") {
      try AgeFile.decrypt(Array(file[..<(payloadOffset + 16)]), identities: [identity])
    }
    assertKind("header", "short nonce") {
      try AgeFile.decrypt(Array(file[..<(payloadOffset + 15)]), identities: [identity])
    }
    assertKind("header", "header only") { try AgeFile.decrypt(Array(file[..<payloadOffset]), identities: [identity]) }
    assertKind("header", "cut inside the header") {
      try AgeFile.decrypt(Array(file[..<(payloadOffset - 1)]), identities: [identity])
    }
  }

  /// A stanza moved to a header whose MAC was made under another file key: HMAC failure.
  func testSwappedStanzaFailsTheMAC() throws {
    let identity = try AgeIdentity.generate()
    let first = try AgeFile.encrypt([1], to: [identity.recipient])
    let second = try AgeFile.encrypt([2], to: [identity.recipient])
    var (header, offset) = try AgeHeader.parse(first)
    header.mac = try AgeHeader.parse(second).header.mac
    let spliced = header.encoded() + Array(first[offset...])
    assertAgeError(.hmacFailure) { try AgeFile.decrypt(spliced, identities: [identity]) }
  }

  /// Identities round-trip through their text form, kept in `SecretBytes`.
  func testIdentityEncodingRoundTrip() throws {
    let identity = try AgeIdentity.generate()
    let text = identity.encoded()
    XCTAssertEqual(text.count, 74)
    XCTAssertTrue(text.copyBytes().starts(with: Array("AGE-SECRET-KEY-1".utf8)))
    let parsed = try AgeIdentity(parsing: text)
    XCTAssertEqual(parsed.recipient, identity.recipient)
    XCTAssertEqual(try AgeRecipient(parsing: identity.recipient.encoded), identity.recipient)
    XCTAssertTrue(identity.recipient.encoded.hasPrefix("age1"))
    XCTAssertEqual(identity.recipient.encoded.count, 62)
  }
}

/// A well-formed MAC line value (32 zero bytes), for header-shape tests.
private enum AgeBase64Stand {
  static let mac = String(repeating: "A", count: 43)
}
