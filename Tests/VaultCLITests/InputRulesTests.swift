import Foundation
import XCTest

/// The rules for names and values, checked through `vault add`.
final class InputRulesTests: XCTestCase {
  private var sandbox: VaultSandbox!

  override func setUpWithError() throws {
    sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("EXISTING", value: fakeSecret())
  }

  override func tearDown() {
    sandbox = nil
  }

  /// `vault add NAME` with `stdin`, asserting exit 65, an unchanged vault and no leak.
  private func assertRejected(
    _ name: String, stdin: [UInt8], options: [String] = [], secret: [UInt8]? = nil, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let result = try sandbox.assertUnchanged(file: file, line: line) {
      try sandbox.run(["add", name] + options, stdin: stdin)
    }
    assertFailure(result, 65, file: file, line: line)
    if let secret { assertNoLeak(result, bytes: [secret], file: file, line: line) }
  }

  func testInvalidNamesAreRefusedWith65() throws {
    let value = fakeSecret()
    let names = [
      "",  // empty
      String(repeating: "A", count: 129),  // too long
      "1PASSWORD",  // leading digit
      "MY=KEY",  // '='
      "MY KEY",  // space
      "MY-KEY",  // dash
      "MY.KEY",  // dot
      "MY_\u{0410}PI",  // Cyrillic capital A, looks like MY_API
      "CAF\u{00C9}",  // non-ASCII letter
    ]
    for name in names {
      try assertRejected(name, stdin: Array((value + "\n").utf8), secret: Array(value.utf8))
    }
    XCTAssertEqual(Set(try sandbox.listJSON().keys), ["EXISTING"])
  }

  func testLoaderAndReservedVariableNamesAreRefusedWith65() throws {
    let value = fakeSecret()
    for name in [
      "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_ANYTHING", "DYLD_INSERT_LIBRARIES", "PATH", "HOME", "NODE_OPTIONS",
      "PYTHONPATH", "BASH_ENV", "VAULT_PASSPHRASE", "VAULT_PASSPHRASE_FILE", "VAULT_FILE",
    ] {
      let result = try sandbox.assertUnchanged { try sandbox.add(name, value: value) }
      assertFailure(result, 65, mentioning: [name])
      assertNoLeak(result, [value])
    }
  }

  func testValidNameEdgeCasesAreAccepted() throws {
    let longest = "K" + String(repeating: "_", count: 126) + "9"
    XCTAssertEqual(longest.utf8.count, 128)
    for name in [longest, "_PRIVATE", "lower_case", "a", "A1_B2", "MY_LD_KEY"] {
      let value = fakeSecret()
      try sandbox.addOK(name, value: value)
      XCTAssertEqual(try sandbox.getValue(name), Array(value.utf8), name)
    }
  }

  func testAnEmptyValueIsRefused() throws {
    try assertRejected("EMPTY", stdin: [])
    try assertRejected("ONLY_NEWLINE", stdin: Array("\n".utf8))
    try assertRejected("ONLY_CRLF", stdin: Array("\r\n".utf8))
  }

  func testAValueOfExactly64KiBIsAccepted() throws {
    let value = "sk-test-" + String(repeating: "a", count: 64 * 1024 - 16) + "zzzzzzzz"
    XCTAssertEqual(value.utf8.count, 65536)
    let plain = try sandbox.run(["add", "BIG_PLAIN"], stdin: Array(value.utf8))
    XCTAssertEqual(plain.status, 0, plain.stderrText)
    let newline = try sandbox.run(["add", "BIG_NEWLINE"], stdin: Array((value + "\n").utf8))
    XCTAssertEqual(newline.status, 0, newline.stderrText)
    XCTAssertEqual(try sandbox.getValue("BIG_PLAIN"), Array(value.utf8))
    XCTAssertEqual(try sandbox.getValue("BIG_NEWLINE"), Array(value.utf8))
    XCTAssertEqual(try sandbox.showJSON("BIG_PLAIN")["value"] as? String, "sk-\u{2026}zzz")
  }

  func testAValueOver64KiBIsRefused() throws {
    let marker = fakeSecret()
    let value = Array(marker.utf8) + Array(repeating: UInt8(ascii: "b"), count: 64 * 1024 + 1 - marker.utf8.count)
    XCTAssertEqual(value.count, 65537)
    try assertRejected("TOO_BIG", stdin: value, secret: Array(marker.utf8))
    try assertRejected("TOO_BIG_LF", stdin: value + [0x0A], secret: Array(marker.utf8))
    let huge = Array(marker.utf8) + Array(repeating: UInt8(ascii: "c"), count: 1 << 20)
    try assertRejected("HUGE", stdin: huge, secret: Array(marker.utf8))
  }

  func testAValueWithANulByteIsRefused() throws {
    let head = fakeSecret()
    let tail = fakeSecret("tail-")
    try assertRejected(
      "WITH_NUL", stdin: Array(head.utf8) + [0] + Array(tail.utf8) + [0x0A], secret: Array(head.utf8))
    try assertRejected("NUL_ONLY", stdin: [0])
    let result = try sandbox.run(["add", "WITH_NUL"], stdin: Array(head.utf8) + [0] + Array(tail.utf8))
    assertNoLeak(result, [head, tail])
  }

  func testAValueThatIsNotUTF8IsRefused() throws {
    let head = fakeSecret()
    try assertRejected(
      "BAD_UTF8", stdin: Array(head.utf8) + [0xFF, 0xFE] + Array("x\n".utf8), secret: Array(head.utf8))
    try assertRejected("LONE_CONTINUATION", stdin: Array(head.utf8) + [0x80], secret: Array(head.utf8))
    try assertRejected("OVERLONG", stdin: Array(head.utf8) + [0xC0, 0xAF], secret: Array(head.utf8))
    try assertRejected("SURROGATE", stdin: Array(head.utf8) + [0xED, 0xA0, 0x80], secret: Array(head.utf8))
  }

  func testInvalidProvidersModelsAndVariablesAreRefused() throws {
    let value = fakeSecret()
    let stdin = Array((value + "\n").utf8)
    for options in [
      ["--provider", ""], ["--provider", "open ai"], ["--provider", "-openai"], ["--provider", "ollama/local"],
      ["--provider", String(repeating: "p", count: 65)], ["--model", "gpt 4o"], ["--model", ""],
      ["--model", String(repeating: "m", count: 129)], ["--model", "gpt-4o\u{00E9}"], ["--env", "PATH"],
      ["--env", "LD_PRELOAD"], ["--env", "1ABC"], ["--env", "VAULT_PASSPHRASE"], ["--env", ""],
    ] {
      try assertRejected("GOOD_NAME", stdin: stdin, options: options, secret: Array(value.utf8))
    }
  }

  func testRefusedInputNeverEchoesTheValue() throws {
    // A name refused while the value sits on stdin: the value must not show up anywhere.
    let value = fakeSecret()
    for name in ["1BAD", "PATH", "MY KEY"] {
      let result = try sandbox.add(name, value: value)
      XCTAssertEqual(result.status, 65)
      assertNoLeak(result, [value])
    }
  }
}
