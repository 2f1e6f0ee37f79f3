import XCTest

@testable import VaultGateway

final class HTTPResponseParserTests: XCTestCase {
  func testParsesAStreamingResponse() throws {
    let text =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nX-Request-Id: r 1\r\n\r\n"
    let parsed = try XCTUnwrap(parseResponse((text + "1a\r\n").bytes).get())
    XCTAssertEqual(parsed.consumed, text.utf8.count)
    XCTAssertEqual(parsed.head.status, 200)
    XCTAssertEqual(parsed.head.reason, "OK")
    XCTAssertEqual(parsed.head.minorVersion, 1)
    XCTAssertTrue(parsed.head.keepAlive)
    XCTAssertEqual(parsed.head.value(of: "content-type"), "text/event-stream")
    XCTAssertEqual(try HTTPResponseParser.framing(of: parsed.head, requestMethod: "POST"), .chunked)
    XCTAssertEqual(try HTTPResponseParser.framing(of: parsed.head, requestMethod: "HEAD"), .none)
  }

  func testStatusLines() throws {
    let cases: [(String, Int, String, Int, Bool)] = [
      ("HTTP/1.1 200 OK", 200, "OK", 1, true),
      ("HTTP/1.1 429 Too Many Requests", 429, "Too Many Requests", 1, true),
      ("HTTP/1.1 200 ", 200, "", 1, true),
      ("HTTP/1.1 200", 200, "", 1, true),
      ("HTTP/1.1 500 Internal\tError (caf\u{e9})", 500, "Internal\tError (caf\u{e9})", 1, true),
      ("HTTP/1.0 200 OK", 200, "OK", 0, false),
    ]
    for (line, status, reason, minor, keepAlive) in cases {
      let head = try XCTUnwrap(parseResponse("\(line)\r\n\r\n".bytes).get()?.head, line)
      XCTAssertEqual(head.status, status, line)
      XCTAssertEqual(head.reason, reason, line)
      XCTAssertEqual(head.minorVersion, minor, line)
      XCTAssertEqual(head.keepAlive, keepAlive, line)
    }
    let closing = try XCTUnwrap(parseResponse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".bytes).get())
    XCTAssertFalse(closing.head.keepAlive)
    let kept = try XCTUnwrap(parseResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n".bytes).get())
    XCTAssertTrue(kept.head.keepAlive)
    // Upstream header values that are not UTF-8 are decoded, not refused.
    let latin1 = try XCTUnwrap(parseResponse("HTTP/1.1 200 OK\r\nX: caf".bytes + [0xE9] + "\r\n\r\n".bytes).get())
    XCTAssertEqual(latin1.head.value(of: "x"), "caf\u{FFFD}")
  }

  /// Malformed heads, all refused with 502.
  func testRefusedHeads() {
    let cases: [(String, String)] = [
      ("HTTP/1.1  200 OK\r\n\r\n", "two spaces"),
      ("HTTP/1.1 20 OK\r\n\r\n", "two-digit status"),
      ("HTTP/1.1 2000 OK\r\n\r\n", "four-digit status"),
      ("HTTP/1.1 099 OK\r\n\r\n", "status below 100"),
      ("HTTP/1.1 600 OK\r\n\r\n", "status above 599"),
      ("HTTP/1.1 2x0 OK\r\n\r\n", "non-digit status"),
      ("HTTP/2 200 OK\r\n\r\n", "HTTP/2"),
      ("HTTP/2.0 200 OK\r\n\r\n", "HTTP/2.0"),
      ("http/1.1 200 OK\r\n\r\n", "lowercase version"),
      ("HTTP/1.1\r\n\r\n", "no status"),
      ("HTTP/1.1 200 O\u{1}K\r\n\r\n", "control char in reason"),
      ("\r\nHTTP/1.1 200 OK\r\n\r\n", "leading empty line"),
      ("HTTP/1.1 200 OK\n\r\n", "bare LF"),
      ("HTTP/1.1 200 OK\r\nX: 1\n\r\n", "bare LF after header"),
      ("HTTP/1.1 200 OK\r\nX: 1\r2\r\n\r\n", "bare CR"),
      ("HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\n\r\n", "obs-fold"),
      ("HTTP/1.1 200 OK\r\nX : 1\r\n\r\n", "space before colon"),
      ("HTTP/1.1 200 OK\r\nX: a\u{0}\r\n\r\n", "NUL in value"),
    ]
    for (text, name) in cases {
      XCTAssertEqual(outcome(parseResponse(text.bytes)), .refused(502), name)
    }
    let limits = HTTPLimits(maxHeaderBytes: 64, maxHeaderCount: 2)
    XCTAssertEqual(
      outcome(parseResponse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".bytes, limits: limits)), .refused(502))
    XCTAssertEqual(
      outcome(parseResponse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n".bytes, limits: limits)), .parsed(consumed: 31))
    let long = "HTTP/1.1 200 OK\r\nA: \(String(repeating: "a", count: 60))\r\n\r\n"
    XCTAssertEqual(outcome(parseResponse(long.bytes, limits: limits)), .refused(502))
  }

  func testEveryPrefixIsIncomplete() {
    let text = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n"
    let bytes = text.bytes
    for end in 0..<bytes.count {
      XCTAssertEqual(outcome(parseResponse(Array(bytes[..<end]))), .incomplete, "prefix \(end)")
    }
    XCTAssertEqual(outcome(parseResponse(bytes + "hello".bytes)), .parsed(consumed: bytes.count))
    XCTAssertEqual(outcome(parseResponse("HTTP/1.1 200\r\n\r".bytes)), .incomplete)
    XCTAssertEqual(outcome(parseResponse("HTTP/3".bytes)), .refused(502))
    XCTAssertEqual(outcome(parseResponse("HTTP/1.1 9".bytes)), .incomplete)
    XCTAssertEqual(outcome(parseResponse("HTTP/1.1 x".bytes)), .refused(502))
  }

  func testFraming() throws {
    typealias Expected = Result<ResponseBodyFraming, HTTPParseError>
    let cases: [(String, String, ResponseBodyFraming?)] = [
      ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n", "POST", .contentLength(12)),
      ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "POST", .contentLength(0)),
      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n", "POST", .chunked),
      ("HTTP/1.1 200 OK\r\n", "POST", .untilClose),
      ("HTTP/1.0 200 OK\r\n", "GET", .untilClose),
      ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n", "HEAD", ResponseBodyFraming.none),
      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", "HEAD", ResponseBodyFraming.none),
      ("HTTP/1.1 100 Continue\r\n", "POST", ResponseBodyFraming.none),
      ("HTTP/1.1 103 Early Hints\r\n", "POST", ResponseBodyFraming.none),
      ("HTTP/1.1 204 No Content\r\n", "POST", ResponseBodyFraming.none),
      ("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n", "GET", ResponseBodyFraming.none),
      ("HTTP/1.1 205 Reset Content\r\n", "POST", .untilClose),
      // Refused: the end of the body would be a guess.
      ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 12\r\n", "POST", nil),
      ("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 12\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nContent-Length: 12, 12\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nContent-Length: +12\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n", "POST", nil),
      ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "POST", nil),
      ("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n", "POST", nil),
    ]
    for (head, method, expected) in cases {
      let parsed = try XCTUnwrap(parseResponse("\(head)\r\n".bytes).get(), head)
      let result = Result { () throws(HTTPParseError) in
        try HTTPResponseParser.framing(of: parsed.head, requestMethod: method)
      }
      switch (result, expected) {
      case (.success(let framing), let expected?): XCTAssertEqual(framing, expected, head)
      case (.failure(let error), nil): XCTAssertEqual(error.status, 502, head)
      default: XCTFail("\(head.debugDescription) \(method): \(result), expected \(String(describing: expected))")
      }
    }
  }
}
