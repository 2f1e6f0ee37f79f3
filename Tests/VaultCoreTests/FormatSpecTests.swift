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
    XCTAssertEqual(root["version"] as? Int, 2)
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
    XCTAssertEqual(lines[0], "{\"format\":\"llm-vault\",\"version\":2,")
    XCTAssertTrue(lines[1].hasPrefix("\"vault\":{\"id\":\""))
    XCTAssertTrue(
      lines[1].contains(",\"kdf\":{\"name\":\"scrypt\",\"n\":\(1 << TestVault.logN),\"r\":8,\"p\":1,\"salt\":\""))
    XCTAssertEqual(lines[2], "\"keys\":[")
    XCTAssertTrue(lines[3].hasPrefix("{\"id\":\"") && lines[3].contains("\"name\":\"A_KEY\",\"provider\":null"))
    XCTAssertTrue(lines[3].contains("\"masked\":\"val…def\""))
    XCTAssertTrue(lines[1].hasSuffix(",\"settings\":{\"agentKeyLimit\":10,\"endpoints\":[]}},"))
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

/// Reads a provider key with an agent token by following docs/FORMAT.md's "Agent keys"
/// alone: the token is decoded here with this test's own base62 and a bitwise CRC-32.
final class AgentFormatSpecTests: XCTestCase {
  func testDocumentAloneOpensAnAgentsGrantWithTheToken() throws {
    let vault = try TestVault()
    defer { vault.remove() }
    try vault.add("GRANTED", "sk-granted-value-0123456789", provider: "openai")
    let token = try vault.store.update(passphrase: TestVault.passphrase) { document, keyring in
      try document.createAgent(
        name: "spec-bot", scope: AgentScope(providers: ["openai"]), lifetime: 3_600, createdBy: "spec",
        keyring: keyring,
        now: .now())
    }
    let text = Array(token.text.copyBytes())
    XCTAssertEqual(text.count, 63)
    XCTAssertEqual(Array(text[0..<3]), Array("vk_".utf8))
    let crc = try XCTUnwrap(base62(text[57..<63], bytes: 4))
    XCTAssertEqual(crc, bigEndian(bitwiseCRC32(Array(text[0..<57]))))
    let tid = try XCTUnwrap(base62(text[3..<14], bytes: 8)).map { String(format: "%02x", $0) }.joined()
    let secret = try XCTUnwrap(base62(text[14..<57], bytes: 32))

    let file = try vault.bytes()
    let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(file)) as? [String: Any])
    let header = try XCTUnwrap(root["vault"] as? [String: Any])
    let vid = try XCTUnwrap(header["id"] as? String)
    let agents = try XCTUnwrap(root["agents"] as? [[String: Any]])
    let agent = try XCTUnwrap(agents.first)
    let aid = try XCTUnwrap(agent["id"] as? String)
    let entry = try XCTUnwrap((agent["tokens"] as? [[String: Any]])?.first)
    XCTAssertEqual(entry["id"] as? String, tid)
    XCTAssertEqual(entry["hash"] as? String, hex(SHA256.hash(secret)))
    let notAfter = try XCTUnwrap(entry["notAfter"] as? String)

    let wrapKey = try HKDF.deriveKey(
      inputKeyMaterial: SecretBytes(copying: secret), salt: try XCTUnwrap(unhex(vid)),
      info: Array("llm-vault/v1/agent-slot|\(tid)".utf8), length: 32)
    let scope = "all=0;keys=;providers=openai;models="
    let slotKey = try AESGCM.open(
      try base64(entry["slot"]), key: wrapKey,
      associatedData: Array("llm-vault/v1/agent-slot|\(vid)|\(aid)|\(tid)|\(notAfter)|\(scope)".utf8))
    let grant = try XCTUnwrap((entry["grants"] as? [[String: Any]])?.first)
    let rid = try XCTUnwrap(grant["key"] as? String)
    let dataKey = try AESGCM.open(
      try base64(grant["dataKey"]), key: slotKey,
      associatedData: Array("llm-vault/v1/grant|\(vid)|\(aid)|\(tid)|\(rid)|-".utf8))
    let record = try XCTUnwrap((root["keys"] as? [[String: Any]])?.first { $0["id"] as? String == rid })
    let value = try AESGCM.open(
      try base64(record["value"]), key: dataKey,
      associatedData: Array("llm-vault/v1/value|\(vid)|\(rid)|GRANTED".utf8))
    XCTAssertEqual(value.text, "sk-granted-value-0123456789")
  }

  /// Base62 digits 0-9A-Za-z, big-endian, into exactly `bytes` bytes (nil when it does not fit).
  private func base62(_ digits: ArraySlice<UInt8>, bytes count: Int) -> [UInt8]? {
    let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    var number = [UInt8](repeating: 0, count: count)
    for digit in digits {
      guard let value = alphabet.firstIndex(of: digit) else { return nil }
      var carry = value
      for index in stride(from: count - 1, through: 0, by: -1) {
        let total = Int(number[index]) * 62 + carry
        number[index] = UInt8(total % 256)
        carry = total / 256
      }
      if carry != 0 { return nil }
    }
    return number
  }

  /// CRC-32 one bit at a time, unlike the product's table-driven one.
  private func bitwiseCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return ~crc
  }

  private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
  }

  private func base64(_ value: Any?) throws -> [UInt8] {
    [UInt8](try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(value as? String))))
  }

  private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  private func unhex(_ text: String) -> [UInt8]? {
    stride(from: 0, to: text.count, by: 2).map { offset -> UInt8? in
      let start = text.index(text.startIndex, offsetBy: offset)
      return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)
    }.reduce([UInt8]()) { partial, byte in byte.map { partial + [$0] } ?? partial }
  }
}
