import VaultCore
import XCTest

final class JSONParserTests: XCTestCase {
  private func parse(_ text: String) throws -> JSONValue {
    try JSONParser.parse(Array(text.utf8))
  }

  func testParsesEveryKindOfValue() throws {
    let value = try parse(#" {"a": [1, -2, 3.5, true, false, null], "b": "x\"y\\z\u00e9\n", "c": {}} "#)
    guard case .object(let object) = value else { return XCTFail("not an object") }
    XCTAssertEqual(object.names, ["a", "b", "c"])
    XCTAssertEqual(
      object["a"], .array([.integer(1), .integer(-2), .otherNumber("3.5"), .bool(true), .bool(false), .null]))
    XCTAssertEqual(object["b"], .string("x\"y\\zé\n"))
    XCTAssertEqual(object["c"], .object(JSONObject()))
  }

  func testSurrogatePairsDecodeAndLoneSurrogatesFail() throws {
    XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
    XCTAssertThrowsError(try parse(#""\ud83d""#))
    XCTAssertThrowsError(try parse(#""\ude00""#))
  }

  func testRejectsWhatRFC8259Rejects() {
    let bad = [
      "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{\"a\":1,\"a\":2}", "01", "1.", ".5", "-", "+1",
      "\"\u{01}\"", "\"abc", "tru", "nul", "{} {}", "[1] x", "'a'", "\"\\x\"", "{a:1}", "1e", "NaN",
    ]
    for text in bad {
      XCTAssertThrowsError(try parse(text), "accepted \(text.debugDescription)")
    }
  }

  func testRejectsInvalidUTF8InsideStrings() {
    XCTAssertThrowsError(try JSONParser.parse([0x22, 0xFF, 0x22]))
    XCTAssertThrowsError(try JSONParser.parse([0x22, 0xC3, 0x22]))
  }

  func testNestingDepthIsBounded() {
    let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    XCTAssertThrowsError(try parse(deep))
    let shallow = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
    XCTAssertNoThrow(try parse(shallow))
  }

  func testWriterOutputParsesBackToTheSameStrings() throws {
    let samples = ["", "plain", "quote \" backslash \\ slash /", "\u{0}\u{1F}\u{7F}", "tab\tnew\nline", "é…😀"]
    for sample in samples {
      var writer = JSONWriter()
      writer.string(sample)
      XCTAssertEqual(try JSONParser.parse(writer.bytes), .string(sample))
    }
  }

  func testIntegersBeyond64BitsAreKeptAsText() throws {
    XCTAssertEqual(try parse("9223372036854775807"), .integer(Int64.max))
    XCTAssertEqual(try parse("9223372036854775808"), .otherNumber("9223372036854775808"))
  }
}
