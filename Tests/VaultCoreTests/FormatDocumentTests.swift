import Foundation
import VaultCrypto
import XCTest

@testable import VaultCore

/// docs/FORMAT.md's own examples, read back through the codec byte for byte, and
/// docs/PROVIDERS.md against the code's catalogue, so neither document can drift.
final class FormatDocumentTests: XCTestCase {
  private static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs")

  private func document(_ name: String) throws -> String {
    try String(contentsOf: Self.docs.appendingPathComponent(name), encoding: .utf8)
  }

  /// The fenced block whose opening line is "```" + `tag`, without its fences.
  private func block(_ tag: String, in text: String) throws -> String {
    let lines = text.components(separatedBy: "\n")
    let start = try XCTUnwrap(lines.firstIndex(of: "```" + tag), "no ```\(tag) block")
    let end = try XCTUnwrap(lines[(start + 1)...].firstIndex(of: "```"))
    return lines[(start + 1)..<end].joined(separator: "\n")
  }

  func testTheExampleVaultInFormatMDReadsBackByteForByte() throws {
    let format = try document("FORMAT.md")
    let bytes = Array((try block("json example-vault", in: format) + "\n").utf8)
    let passphrase = try block("text example-passphrase", in: format)
    let tokenText = try block("text example-token", in: format)
    let value = try block("text example-value", in: format)

    let decoded = try VaultCodec.decode(bytes)
    let header = decoded.document.header
    let kdf = try XCTUnwrap(header.passphraseSlot).kdf
    let kek = try Keyring.deriveKEK(passphrase: SecretBytes(copying: Array(passphrase.utf8)), kdf: kdf)
    let keyring = try Keyring.unlock(header: header, kek: kek)
    try VaultCodec.verifyMAC(decoded, keyring: keyring)
    XCTAssertEqual(VaultCodec.encode(decoded.document, keyring: keyring), bytes, "the writer spells it otherwise")
    let key = try XCTUnwrap(decoded.document.keys.first)
    XCTAssertEqual(try keyring.open(key).copyBytes(), Array(value.utf8))
    XCTAssertEqual(key.masked, Masking.mask(value))

    // The token: its fields as the spec computes them, and its slot and grant open.
    let token = try AgentToken.parse(Array(tokenText.utf8))
    let agent = try XCTUnwrap(decoded.document.agents.first)
    XCTAssertEqual(agent.credentials.first?.id, token.id)
    XCTAssertEqual(agent.credentials.first?.display, token.display)
    XCTAssertEqual(agent.credentials.first?.secretHash, token.secretHash)
    XCTAssertEqual(try block("text example-scope", in: format), agent.scope.canonicalText)
    let session = try AgentSession(bytes: bytes, token: token, now: agent.created)
    let readable = try session.grantedKeys()
    XCTAssertEqual(readable.map(\.name), [key.name])
    XCTAssertEqual(try session.keyring.open(readable[0]).copyBytes(), Array(value.utf8))

    // Any other spelling of the same JSON is not the format.
    let text = String(decoding: bytes, as: UTF8.self)
    for variant in [
      text.replacingOccurrences(of: "\"name\":\"\(key.name)\"", with: "\"name\": \"\(key.name)\""),
      text.replacingOccurrences(of: "\"provider\":\"openai\"", with: "\"provider\":\"open\\u0061i\""),
      text.replacingOccurrences(of: "\"models\":[\"gpt-4o\"]", with: "\"models\":[\"gpt\\u002d4o\"]"),
      text.replacingOccurrences(of: "\"agentKeyLimit\":10", with: "\"agentKeyLimit\":1e1"),
      text.replacingOccurrences(of: "\"createdBy\":\"alice\"", with: "\"createdBy\":\"\\u0061lice\""),
    ] {
      XCTAssertNotEqual(variant, text)
      let edited = Array(variant.utf8)
      let covered = edited.count - 152
      var fixed = edited
      let digest = Array(Hex.encode(SHA256.hash(Array(edited[0..<covered]))).utf8)
      fixed.replaceSubrange((covered + 12)..<(covered + 76), with: digest)
      XCTAssertThrowsError(try VaultCodec.decode(fixed), variant) { error in
        guard case VaultError.integrity = error else { return XCTFail("\(error)") }
      }
    }
  }

  /// docs/PROVIDERS.md's table is the catalogue's; regenerate with VAULT_REGENERATE_DOCS=1.
  func testProvidersMDIsTheCatalogue() throws {
    var table = "| provider | variables (SDK first) | model families |\n| --- | --- | --- |\n"
    for provider in ProviderCatalogue.providers {
      let variables = provider.variables.map { "`\($0)`" }.joined(separator: ", ")
      let families =
        provider.modelPrefixes.isEmpty ? "-" : provider.modelPrefixes.map { "`\($0)*`" }.joined(separator: ", ")
      table += "| `\(provider.id)` | \(variables) | \(families) |\n"
    }
    let begin = "<!-- generated from ProviderCatalogue.providers by FormatDocumentTests; do not edit -->\n"
    let end = "<!-- end of generated table -->"
    let path = Self.docs.appendingPathComponent("PROVIDERS.md")
    let text = try String(contentsOf: path, encoding: .utf8)
    let start = try XCTUnwrap(text.range(of: begin)?.upperBound, "no generated section in PROVIDERS.md")
    let stop = try XCTUnwrap(text.range(of: end, range: start..<text.endIndex)?.lowerBound)
    if ProcessInfo.processInfo.environment["VAULT_REGENERATE_DOCS"] == "1" {
      try (String(text[..<start]) + table + String(text[stop...])).write(to: path, atomically: true, encoding: .utf8)
      return
    }
    XCTAssertEqual(
      String(text[start..<stop]), table, "docs/PROVIDERS.md is out of date; run with VAULT_REGENERATE_DOCS=1")
  }
}
