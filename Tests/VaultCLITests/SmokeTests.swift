import XCTest

final class SmokeTests: XCTestCase {
  func testVersionPrintsAndExitsZero() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["--version"])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(result.stdoutText.hasPrefix("vault "), result.stdoutText)
  }

  func testAddThenGetReturnsTheValue() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("MY_API", value: "sk-test-0123456789abcdef").status, 0)
    let result = try sandbox.run(["get", "MY_API"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdoutText, "sk-test-0123456789abcdef")
  }
}
