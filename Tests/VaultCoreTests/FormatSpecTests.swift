import Foundation
import VaultCore
import VaultCrypto
import XCTest

/// Decrypts a vault by following docs/FORMAT.md step by step, with Foundation's JSON parser and
/// the bare primitives only: none of VaultCore's codec or keyring. If the document and the code
/// drift apart, this fails.
final class FormatSpecTests: XCTestCase {
  func testDocumentAloneDecryptsEveryValueAndVerifiesTheFile() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("MY_API", "sk-proj-format-spec-0123456789", provider: "openai", models: ["gpt-4o"])
    try vault.add("SHORT", "tiny")
    let file = try vault.bytes()

    // The suffix: the last 152 bytes.
    XCTAssertGreaterThan(file.count, 152)
    let covered = Array(file[0..<(file.count - 152)])
    let suffix = String(decoding: file[(file.count - 152)...], as: UTF8.self)
    XCTAssertTrue(suffix.hasPrefix("\"checksum\":\""))
    XCTAssertTrue(suffix.hasSuffix("\"}\n"))
    XCTAssertEqual(covered.last, 0x0A)

    let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(file)) as? [String: Any])
    XCTAssertEqual(root["format"] as? String, "llm-vault")
    XCTAssertEqual(root["version"] as? Int, 1)
    XCTAssertEqual(root["checksum"] as? String, hex(SHA256.hash(covered)))

    let header = try XCTUnwrap(root["vault"] as? [String: Any])
    let vid = try XCTUnwrap(header["id"] as? String)
    let kdf = try XCTUnwrap(header["kdf"] as? [String: Any])
    XCTAssertEqual(kdf["name"] as? String, "scrypt")
    let parameters = Scrypt.Parameters(
      n: UInt64(try XCTUnwrap(kdf["n"] as? Int)), r: UInt64(try XCTUnwrap(kdf["r"] as? Int)),
      p: UInt64(try XCTUnwrap(kdf["p"] as? Int)))
    let kek = try Scrypt.deriveKey(
      password: SecretBytes(copying: Array(TestVault.passphraseText.utf8)),
      salt: try base64(kdf["salt"]), parameters: parameters, length: 32)
    let masterKey = try AESGCM.open(
      try base64(header["masterKey"]), key: kek, associatedData: Array("llm-vault/v1/master-key|\(vid)".utf8))
    XCTAssertEqual(masterKey.count, 32)

    let macKey = try HKDF.deriveKey(
      inputKeyMaterial: masterKey, salt: try XCTUnwrap(unhex(vid)), info: Array("llm-vault/v1/file-mac".utf8),
      length: 32)
    XCTAssertEqual(
      root["mac"] as? String, hex(HMACSHA256.authenticationCode(key: macKey, message: SHA256.hash(covered))))

    var values: [String: String] = [:]
    for case let record as [String: Any] in try XCTUnwrap(root["keys"] as? [Any]) {
      let rid = try XCTUnwrap(record["id"] as? String)
      let name = try XCTUnwrap(record["name"] as? String)
      let dataKey = try AESGCM.open(
        try base64(record["dataKey"]), key: masterKey,
        associatedData: Array("llm-vault/v1/data-key|\(vid)|\(rid)".utf8))
      let value = try AESGCM.open(
        try base64(record["value"]), key: dataKey,
        associatedData: Array("llm-vault/v1/value|\(vid)|\(rid)|\(name)".utf8))
      values[name] = value.text
    }
    XCTAssertEqual(values, ["MY_API": "sk-proj-format-spec-0123456789", "SHORT": "tiny"])
  }

  func testWriterEmitsTheDocumentedLayoutLineByLine() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("A_KEY", "value-number-one-abcdef")
    let lines = String(decoding: try vault.bytes(), as: UTF8.self).split(
      separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(lines.count, 9)
    XCTAssertEqual(lines[0], "{\"format\":\"llm-vault\",\"version\":1,")
    XCTAssertTrue(lines[1].hasPrefix("\"vault\":{\"id\":\""))
    XCTAssertTrue(lines[1].contains(",\"kdf\":{\"name\":\"scrypt\",\"n\":16384,\"r\":8,\"p\":1,\"salt\":\""))
    XCTAssertEqual(lines[2], "\"keys\":[")
    XCTAssertTrue(lines[3].hasPrefix("{\"id\":\"") && lines[3].contains("\"name\":\"A_KEY\",\"provider\":null"))
    XCTAssertTrue(lines[3].contains("\"masked\":\"val…def\""))
    XCTAssertTrue(lines[1].hasSuffix(",\"settings\":{\"agentKeyLimit\":10}},"))
    XCTAssertEqual(lines[4], "],")
    XCTAssertEqual(lines[5], "\"agents\":[")
    XCTAssertEqual(lines[6], "],")
    XCTAssertTrue(lines[7].hasPrefix("\"checksum\":\"") && lines[7].hasSuffix("\"}"))
    XCTAssertEqual(lines[8], "")
  }

  private func base64(_ value: Any?) throws -> [UInt8] {
    [UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(value as? String))))
  }

  private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  private func unhex(_ text: String) -> [UInt8]? {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
      let next = text.index(index, offsetBy: 2)
      guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
      bytes.append(byte)
      index = next
    }
    return bytes
  }
}
