import VaultCore
import XCTest

final class ModelRulesTests: XCTestCase {
  func testMaskingShowsThreeAndThreeAndNeverHalfAKey() {
    XCTAssertEqual(Masking.mask("sk-proj-abcdefghijklmnopqrstuvwxyz"), "sk-…xyz")
    XCTAssertEqual(Masking.mask("1234567890123"), "123…123")
    XCTAssertEqual(Masking.mask("123456789012"), "********")
    XCTAssertEqual(Masking.mask("a"), "********")
    XCTAssertEqual(Masking.mask("ééé-middle-part-ççç"), "ééé…ççç")
    XCTAssertEqual(Masking.mask("\u{1B}[1sk-middle-part-\t\r\n"), "?[1…???")
  }

  func testTimestampRoundTripsAndRejectsImpossibleDates() throws {
    let stamp = Timestamp(secondsSinceEpoch: 1_795_305_517)
    XCTAssertEqual(stamp.rfc3339, "2026-11-21T23:58:37Z")
    XCTAssertEqual(Timestamp(rfc3339: "2026-11-21T23:58:37Z"), stamp)
    XCTAssertEqual(Timestamp(rfc3339: "1970-01-01T00:00:00Z")?.secondsSinceEpoch, 0)
    for bad in ["2026-02-30T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21 23:58:37Z", "2026-11-21T23:58:37", "x"] {
      XCTAssertNil(Timestamp(rfc3339: bad), bad)
    }
  }

  func testKeyNamesFollowTheEnvironmentVariableRule() throws {
    for good in ["MY_API", "_x", "a1", String(repeating: "A", count: 128)] {
      XCTAssertNoThrow(try Names.validateKeyName(good), good)
    }
    let bad = [
      "", "1ABC", "MY-API", "MY API", "A=B", "ÄPI", "MY\u{0410}PI", String(repeating: "A", count: 129), "LD_PRELOAD",
      "PATH", "DYLD_INSERT_LIBRARIES", "VAULT_PASSPHRASE", "NODE_OPTIONS",
    ]
    for name in bad {
      XCTAssertThrowsError(try Names.validateKeyName(name), name) { error in
        guard case VaultError.invalidInput(let message) = error else { return XCTFail("\(error)") }
        if name.count > 3
          && !["LD_PRELOAD", "PATH", "DYLD_INSERT_LIBRARIES", "VAULT_PASSPHRASE", "NODE_OPTIONS"].contains(name)
        {
          XCTAssertFalse(message.contains(name), "the error echoes the rejected name")
        }
      }
    }
  }

  func testProvidersAreNormalisedAndModelsChecked() throws {
    XCTAssertEqual(try Names.normalizedProvider("OpenAI"), "openai")
    XCTAssertThrowsError(try Names.normalizedProvider("open ai"))
    XCTAssertThrowsError(try Names.normalizedProvider("-x"))
    XCTAssertNoThrow(try Names.validateModel("gemini/gemini-1.5-pro@latest"))
    XCTAssertThrowsError(try Names.validateModel("gpt 4"))
    XCTAssertThrowsError(try Names.validateModel("/gpt"))
  }

  func testValuesAreCheckedAndOneTrailingNewlineIsDropped() throws {
    XCTAssertEqual(SecretValue.droppingTrailingNewline(Array("abc\n".utf8)), Array("abc".utf8))
    XCTAssertEqual(SecretValue.droppingTrailingNewline(Array("abc\r\n".utf8)), Array("abc".utf8))
    XCTAssertEqual(SecretValue.droppingTrailingNewline(Array("abc\n\n".utf8)), Array("abc\n".utf8))
    XCTAssertEqual(try SecretValue.validated([UInt8](repeating: 0x61, count: 65_536)).count, 65_536)
    XCTAssertThrowsError(try SecretValue.validated([UInt8](repeating: 0x61, count: 65_537)))
    XCTAssertThrowsError(try SecretValue.validated([]))
    XCTAssertThrowsError(try SecretValue.validated([0x61, 0x00, 0x62]))
    XCTAssertThrowsError(try SecretValue.validated([0x61, 0xFF]))
  }

  func testDotEnvParserReadsTheUsualForms() throws {
    let text = """
      # comment
      OPENAI_API_KEY=sk-one  # trailing comment
      export ANTHROPIC_API_KEY='sk-ant #not a comment'
      QUOTED="a\\"b\\nc"

      EMPTY_LATER = spaced value\r
      """
    let entries = try DotEnvParser.parse(Array(text.utf8))
    XCTAssertEqual(entries.map(\.name), ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "QUOTED", "EMPTY_LATER"])
    XCTAssertEqual(
      entries.map { String(decoding: $0.value, as: UTF8.self) },
      ["sk-one", "sk-ant #not a comment", "a\"b\nc", "spaced value"])
    XCTAssertEqual(entries.map(\.line), [2, 3, 4, 6])
    XCTAssertEqual(ProviderCatalogue.provider(forVariable: "OPENAI_API_KEY"), "openai")
    XCTAssertNil(ProviderCatalogue.provider(forVariable: "MY_API"))
  }

  func testDotEnvErrorsNameTheLineNotTheValue() {
    let cases = ["A=1\nNOEQUALS", "A=1\n1BAD=x", "A=\"unterminated-secret", "A='x' trailing-secret", "A=1\nA=2"]
    for text in cases {
      XCTAssertThrowsError(try DotEnvParser.parse(Array(text.utf8))) { error in
        guard case VaultError.invalidInput(let message) = error else { return XCTFail("\(error)") }
        XCTAssertTrue(message.hasPrefix(".env line"), message)
        XCTAssertFalse(message.contains("secret"), message)
      }
    }
  }
}
