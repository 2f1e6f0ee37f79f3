import XCTest

@testable import VaultGateway

/// The models a request names, read without a JSON tree: what the gateway chooses a key by.
final class RequestModelTests: XCTestCase {
  private func models(_ body: String, path: String = "/openai/chat/completions") -> [String]? {
    RequestModel.find(body: Array(body.utf8), path: path)
  }

  func testTheTopLevelModelIsFoundWhateverSurroundsIt() {
    XCTAssertEqual(models(#"{"model":"gpt-4o"}"#), ["gpt-4o"])
    XCTAssertEqual(models(#" { "messages" : [{"role":"user","model":"nested"}], "model" : "gpt-4o" } "#), ["gpt-4o"])
    XCTAssertEqual(models(#"{"a":{"model":"x","b":["}",{"c":"]"}]},"model":"o3","n":1.5e3,"t":true}"#), ["o3"])
    XCTAssertEqual(models(#"{"s":"a \"quoted\" \\ \u0041","model":"gpt\u002d4o"}"#), ["gpt-4o"])
    XCTAssertEqual(models(#"{"model":"\ud83d\ude00"}"#), ["\u{1F600}"])
    XCTAssertEqual(models(#"{"messages":[]}"#), [])
    XCTAssertEqual(models(#"{"model":"gpt-4o","model":"gpt-4o"}"#), ["gpt-4o"])
  }

  func testAnObjectTheScannerCannotReadWholeOrThatNamesTwoModelsIsRefused() {
    for body in [
      #"{"model":"gpt-4o","model":"o3"}"#, #"{"model":"gpt-4o""#, #"{"model":"gpt-4o",}"#, #"{"model":"gpt-4o"} x"#,
      #"{"model":gpt-4o}"#, #"{"model":"\x"}"#, "{\"model\":\"a\u{1}b\"}", #"{"a":[1,2}"#, #"{"model":"\ud83d"}"#,
    ] {
      XCTAssertNil(models(body), body)
    }
  }

  func testABodyThatIsNoJSONObjectNamesNoModel() {
    for body in [
      "", "--boundary\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-4o",
      "\u{FEFF}{\"model\":\"gpt-4o\"}", "[1]",
    ] {
      XCTAssertEqual(models(body), [], body)
    }
  }

  func testThePathsModelComesFirstAndTheBodysAnotherIsKept() {
    let google = "/google/v1beta/models/gemini-1.5-pro:generateContent"
    XCTAssertEqual(models(#"{"contents":[]}"#, path: google), ["gemini-1.5-pro"])
    XCTAssertEqual(models(#"{"model":"gemini-1.5-flash"}"#, path: google), ["gemini-1.5-pro", "gemini-1.5-flash"])
    XCTAssertEqual(models(#"{"model":"gemini-1.5-pro"}"#, path: google), ["gemini-1.5-pro"])
    XCTAssertEqual(models("", path: "/openai/models/gpt-4o"), ["gpt-4o"])
  }
}
