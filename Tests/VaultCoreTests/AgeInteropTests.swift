import Foundation
import VaultCore
import VaultCrypto
import XCTest

/// Our age files against the real `age` and `age-keygen` (Debian package `age`; .ci/run installs
/// it). Without them the tests skip, saying so, unless CI is set: then they fail. Identities are
/// written 0600 in a private temporary directory; failures report lengths, never bytes.
final class AgeInteropTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = try AgeTestSupport.temporaryDirectory()
  }

  override func tearDownWithError() throws {
    if let directory { try? FileManager.default.removeItem(at: directory) }
  }

  private func tool(_ name: String) throws -> String {
    try AgeTestSupport.requireTool(name, installHint: "apt-get install age")
  }

  /// (a) An identity our code made, written to a file; our file encrypted to its recipient;
  /// `age -d -i` prints the plaintext. Sizes cover an empty payload, a full chunk and two chunks.
  func testAgeDecryptsWhatWeEncrypt() throws {
    let age = try tool("age")
    let identity = try AgeIdentity.generate()
    let identityFile = directory.appendingPathComponent("identity.txt")
    try AgeTestSupport.writePrivateFile(identityFile, identity.encoded().copyBytes() + [UInt8(ascii: "\n")])
    for size in [0, 32, 65536, 65536 * 2 + 7] {
      let plaintext = try SecureRandom.bytes(count: size)
      let other = try AgeIdentity.generate()
      let encrypted = try AgeFile.encrypt(plaintext, to: [other.recipient, identity.recipient])
      let encryptedFile = directory.appendingPathComponent("file-\(size).age")
      try Data(encrypted).write(to: encryptedFile)
      let result = try AgeTestSupport.run(age, ["-d", "-i", identityFile.path, encryptedFile.path])
      XCTAssertEqual(result.status, 0, "age -d exit status for \(size) bytes (stderr \(result.stderr.count) bytes)")
      XCTAssertTrue(
        result.stdout == plaintext, "age -d output differs: \(result.stdout.count) bytes, expected \(size)")
    }
  }

  /// `age -d` refuses our file once a payload byte is changed (so the test above can fail).
  func testAgeRefusesOurTamperedFile() throws {
    let age = try tool("age")
    let identity = try AgeIdentity.generate()
    let identityFile = directory.appendingPathComponent("identity.txt")
    try AgeTestSupport.writePrivateFile(identityFile, identity.encoded().copyBytes())
    var encrypted = try AgeFile.encrypt(Array("secret".utf8), to: [identity.recipient])
    encrypted[encrypted.count - 1] ^= 1
    let encryptedFile = directory.appendingPathComponent("tampered.age")
    try Data(encrypted).write(to: encryptedFile)
    let result = try AgeTestSupport.run(age, ["-d", "-i", identityFile.path, encryptedFile.path])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stdout.isEmpty || result.stdout != Array("secret".utf8))
  }

  /// (b) An identity from `age-keygen -o`, parsed by `AgeIdentity`; its recipient is the one
  /// age-keygen printed; a file from `age -r` is opened by `AgeFile.decrypt`.
  func testWeDecryptWhatAgeEncrypts() throws {
    let age = try tool("age")
    let keygen = try tool("age-keygen")
    let identityFile = directory.appendingPathComponent("keygen.txt")
    let generated = try AgeTestSupport.run(keygen, ["-o", identityFile.path])
    XCTAssertEqual(generated.status, 0, "age-keygen exit status")
    let attributes = try FileManager.default.attributesOfItem(atPath: identityFile.path)
    XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "age-keygen writes 0600")
    // The file: "# created: ...", "# public key: age1...", then the identity line.
    let contents = SecretBytes(copying: [UInt8](try Data(contentsOf: identityFile)))
    let lines = contents.copyBytes().split(separator: UInt8(ascii: "\n"))
    guard let keyLine = lines.first(where: { $0.starts(with: Array("AGE-SECRET-KEY-1".utf8)) }),
      let publicLine = lines.first(where: { $0.starts(with: Array("# public key: ".utf8)) })
    else {
      return XCTFail("age-keygen output has no identity or public key line (\(lines.count) lines)")
    }
    let identity = try AgeIdentity(parsing: SecretBytes(copying: keyLine))
    let printedRecipient = String(decoding: publicLine.dropFirst("# public key: ".utf8.count), as: UTF8.self)
    XCTAssertEqual(identity.recipient.encoded, printedRecipient)
    XCTAssertEqual(try AgeRecipient(parsing: printedRecipient), identity.recipient)

    for size in [0, 100, 65536, 65536 + 1] {
      let plaintext = try SecureRandom.bytes(count: size)
      let encrypted = try AgeTestSupport.run(age, ["-r", printedRecipient], input: plaintext)
      XCTAssertEqual(encrypted.status, 0, "age -r exit status")
      let opened = try AgeFile.decrypt(encrypted.stdout, identities: [identity])
      XCTAssertTrue(opened.copyBytes() == plaintext, "decrypted \(opened.count) bytes, expected \(size)")
      // And a file age made for two recipients, ours second.
      let other = try AgeIdentity.generate()
      let both = try AgeTestSupport.run(
        age, ["-r", other.recipient.encoded, "-r", printedRecipient], input: plaintext)
      XCTAssertEqual(both.status, 0)
      XCTAssertTrue(try AgeFile.decrypt(both.stdout, identities: [identity]).copyBytes() == plaintext)
    }
  }

  /// `age-keygen -y` agrees with `AgeIdentity` on the recipient of an identity we generate.
  func testKeygenAgreesOnOurRecipient() throws {
    let keygen = try tool("age-keygen")
    let identity = try AgeIdentity.generate()
    let result = try AgeTestSupport.run(keygen, ["-y"], input: identity.encoded().copyBytes() + [UInt8(ascii: "\n")])
    XCTAssertEqual(result.status, 0)
    XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), identity.recipient.encoded + "\n")
  }
}
