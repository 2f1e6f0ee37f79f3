import XCTest

@testable import VaultGateway

final class HopByHopTests: XCTestCase {
  func testFixedList() {
    let hop = [
      "Connection", "keep-alive", "Proxy-Connection", "TE", "te", "Trailer", "Transfer-Encoding", "UPGRADE",
      "Proxy-Authenticate", "proxy-authorization",
    ]
    for name in hop { XCTAssertTrue(HopByHop.isHopByHop(name, connectionTokens: []), name) }
    let endToEnd = [
      "Content-Length", "Content-Type", "Authorization", "Host", "x-api-key", "Trailers", "TEX", "Upgrade-Insecure",
      "Keep-Alive2", "", "Accept",
    ]
    for name in endToEnd { XCTAssertFalse(HopByHop.isHopByHop(name, connectionTokens: []), name) }
  }

  func testConnectionTokens() {
    let headers = [
      HTTPHeader(name: "Host", value: "a"), HTTPHeader(name: "connection", value: " X-Foo ,close,, Keep-Alive "),
      HTTPHeader(name: "CONNECTION", value: "x-bar"), HTTPHeader(name: "X-Connection", value: "x-baz"),
    ]
    let tokens = HopByHop.connectionTokens(headers)
    XCTAssertEqual(tokens, ["x-foo", "close", "keep-alive", "x-bar"])
    XCTAssertTrue(HopByHop.isHopByHop("X-Foo", connectionTokens: tokens))
    XCTAssertTrue(HopByHop.isHopByHop("x-BAR", connectionTokens: tokens))
    XCTAssertFalse(HopByHop.isHopByHop("X-Baz", connectionTokens: tokens))
    XCTAssertFalse(HopByHop.isHopByHop("Host", connectionTokens: tokens))
    XCTAssertEqual(HopByHop.connectionTokens([HTTPHeader(name: "Connection", value: "")]), [])
  }
}
