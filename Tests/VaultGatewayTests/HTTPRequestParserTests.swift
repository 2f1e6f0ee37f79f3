import XCTest

@testable import VaultGateway

final class HTTPRequestParserTests: XCTestCase {
  private let host = "Host: 127.0.0.1:8700\r\n"

  func testParsesAStreamingChatRequest() throws {
    let text =
      "POST /openai/chat/completions?stream=1&x= HTTP/1.1\r\nHost: 127.0.0.1:8700\r\nContent-Type: application/json\r\n"
      + "content-length: 42\r\nAuthorization:   Bearer vs_abc \t\r\nX-Empty:\r\n\r\n{\"model\":"
    let parsed = try XCTUnwrap(parseRequest(text.bytes).get())
    let head = parsed.head
    XCTAssertEqual(parsed.consumed, text.utf8.count - "{\"model\":".utf8.count)
    XCTAssertEqual(head.method, "POST")
    XCTAssertEqual(head.target, "/openai/chat/completions?stream=1&x=")
    XCTAssertEqual(head.path, "/openai/chat/completions")
    XCTAssertEqual(head.query, "stream=1&x=")
    XCTAssertEqual(head.minorVersion, 1)
    XCTAssertEqual(head.framing, .contentLength(42))
    XCTAssertTrue(head.keepAlive)
    XCTAssertFalse(head.expectsContinue)
    XCTAssertEqual(head.headers.map(\.name), ["Host", "Content-Type", "content-length", "Authorization", "X-Empty"])
    XCTAssertEqual(head.value(of: "AUTHORIZATION"), "Bearer vs_abc")
    XCTAssertEqual(head.value(of: "x-empty"), "")
    XCTAssertNil(head.value(of: "x-missing"))
  }

  func testAcceptedHeads() throws {
    struct Case {
      let text: String
      let framing: BodyFraming
      let keepAlive: Bool
      let expectsContinue: Bool
      var query: String?? = .none
    }
    let cases: [Case] = [
      Case(
        text: "GET / HTTP/1.1\r\n\(host)\r\n", framing: .none, keepAlive: true, expectsContinue: false,
        query: .some(nil)),
      Case(
        text: "GET /?\(String()) HTTP/1.1\r\n\(host)\r\n", framing: .none, keepAlive: true, expectsContinue: false,
        query: ""),
      Case(
        text: "GET /a?b?c HTTP/1.1\r\n\(host)\r\n", framing: .none, keepAlive: true, expectsContinue: false,
        query: "b?c"),
      Case(
        text: "GET /v1beta/models/gemini-2.0-flash:generateContent?key=a%2Fb HTTP/1.1\r\n\(host)\r\n", framing: .none,
        keepAlive: true, expectsContinue: false, query: "key=a%2Fb"),
      Case(text: "\r\n\r\nGET / HTTP/1.1\r\n\(host)\r\n", framing: .none, keepAlive: true, expectsContinue: false),
      Case(text: "GET / HTTP/1.0\r\n\r\n", framing: .none, keepAlive: false, expectsContinue: false),
      Case(
        text: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", framing: .none, keepAlive: true,
        expectsContinue: false),
      Case(
        text: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", framing: .none, keepAlive: false,
        expectsContinue: false),
      Case(
        text: "GET / HTTP/1.1\r\n\(host)Connection: foo, CLOSE\r\n\r\n", framing: .none, keepAlive: false,
        expectsContinue: false),
      Case(
        text: "GET / HTTP/1.1\r\n\(host)Connection: foo\r\nConnection: close\r\n\r\n", framing: .none, keepAlive: false,
        expectsContinue: false),
      Case(
        text: "POST / HTTP/1.1\r\n\(host)Content-Length: 0\r\n\r\n", framing: .contentLength(0), keepAlive: true,
        expectsContinue: false),
      Case(
        text: "POST / HTTP/1.1\r\n\(host)Content-Length: 007\r\n\r\n", framing: .contentLength(7), keepAlive: true,
        expectsContinue: false),
      Case(
        text: "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n", framing: .chunked, keepAlive: true,
        expectsContinue: false),
      Case(
        text: "POST / HTTP/1.1\r\n\(host)transfer-encoding: \tChunKed \r\n\r\n", framing: .chunked, keepAlive: true,
        expectsContinue: false),
      Case(
        text: "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nExpect: 100-Continue\r\n\r\n", framing: .contentLength(5),
        keepAlive: true, expectsContinue: true),
      Case(
        text: "POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", framing: .contentLength(5),
        keepAlive: false, expectsContinue: false),
    ]
    for testCase in cases {
      guard case .success(let parsed?) = parseRequest(testCase.text.bytes) else {
        XCTFail("not parsed: \(testCase.text.debugDescription) -> \(parseRequest(testCase.text.bytes))")
        continue
      }
      XCTAssertEqual(parsed.consumed, testCase.text.utf8.count, testCase.text.debugDescription)
      XCTAssertEqual(parsed.head.framing, testCase.framing, testCase.text.debugDescription)
      XCTAssertEqual(parsed.head.keepAlive, testCase.keepAlive, testCase.text.debugDescription)
      XCTAssertEqual(parsed.head.expectsContinue, testCase.expectsContinue, testCase.text.debugDescription)
      if case .some(let query) = testCase.query {
        XCTAssertEqual(parsed.head.query, query, testCase.text.debugDescription)
      }
    }
  }

  func testUTF8ValueIsKept() throws {
    let parsed = try XCTUnwrap(parseRequest("GET / HTTP/1.1\r\n\(host)X-Name: caf\u{e9}\r\n\r\n".bytes).get())
    XCTAssertEqual(parsed.head.value(of: "x-name"), "caf\u{e9}")
  }

  /// Every rule, with a head that breaks it and the status it must be refused with.
  func testRefusedHeads() {
    let post = "POST / HTTP/1.1\r\n\(host)"
    let cases: [(String, Int, String)] = [
      // Request line.
      ("GET  / HTTP/1.1\r\n\(host)\r\n", 400, "two spaces"),
      ("GET / HTTP/1.1 \r\n\(host)\r\n", 400, "trailing space"),
      (" GET / HTTP/1.1\r\n\(host)\r\n", 400, "leading space"),
      ("GET\t/ HTTP/1.1\r\n\(host)\r\n", 400, "tab separator"),
      ("G(T / HTTP/1.1\r\n\(host)\r\n", 400, "method not a token"),
      ("GET http://api.openai.com/ HTTP/1.1\r\n\(host)\r\n", 400, "absolute-form"),
      ("OPTIONS * HTTP/1.1\r\n\(host)\r\n", 400, "asterisk-form"),
      ("CONNECT api.openai.com:443 HTTP/1.1\r\n\(host)\r\n", 400, "authority-form"),
      ("GET /a b HTTP/1.1\r\n\(host)\r\n", 400, "space in target"),
      ("GET /a\u{01} HTTP/1.1\r\n\(host)\r\n", 400, "control char in target"),
      ("GET /caf\u{e9} HTTP/1.1\r\n\(host)\r\n", 400, "non-ASCII target"),
      ("GET /a#frag HTTP/1.1\r\n\(host)\r\n", 400, "fragment"),
      ("GET /a\\b HTTP/1.1\r\n\(host)\r\n", 400, "backslash in target"),
      ("GET /a%2 HTTP/1.1\r\n\(host)\r\n", 400, "short percent-encoding"),
      ("GET /a%zz HTTP/1.1\r\n\(host)\r\n", 400, "bad percent-encoding"),
      ("GET / HTTP/2.0\r\n\(host)\r\n", 505, "HTTP/2.0"),
      ("GET / HTTP/1.2\r\n\(host)\r\n", 505, "HTTP/1.2"),
      ("GET / HTTP/0.9\r\n\(host)\r\n", 505, "HTTP/0.9"),
      ("GET / http/1.1\r\n\(host)\r\n", 400, "lowercase version"),
      ("GET / HTTP/1.10\r\n\(host)\r\n", 400, "long version"),
      ("GET / HTTP/1\r\n\(host)\r\n", 400, "short version"),
      ("GET /\r\n\(host)\r\n", 400, "no version"),
      ("GET\r\n\(host)\r\n", 400, "method only"),
      ("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\(host)\r\n", 400, "too many leading empty lines"),
      // Line endings.
      ("GET / HTTP/1.1\n\(host)\r\n", 400, "bare LF after request line"),
      ("GET / HTTP/1.1\r\n\(host)\n", 400, "bare LF ending the head"),
      ("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, "bare LF between headers"),
      ("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare CR between headers"),
      ("GET / HTTP/1.1\r\r\n\(host)\r\n", 400, "bare CR at end of request line"),
      ("\nGET / HTTP/1.1\r\n\(host)\r\n", 400, "leading bare LF"),
      // Header lines.
      ("GET / HTTP/1.1\r\n\(host)X-A: 1\r\n b\r\n\r\n", 400, "obs-fold with space"),
      ("GET / HTTP/1.1\r\n\(host)X-A: 1\r\n\tb\r\n\r\n", 400, "obs-fold with tab"),
      ("GET / HTTP/1.1\r\n \(host)\r\n", 400, "indented first header"),
      ("GET / HTTP/1.1\r\n\(host)X-A : 1\r\n\r\n", 400, "space before colon"),
      ("GET / HTTP/1.1\r\n\(host)X-A\t: 1\r\n\r\n", 400, "tab before colon"),
      ("GET / HTTP/1.1\r\n\(host)X A: 1\r\n\r\n", 400, "space in name"),
      ("GET / HTTP/1.1\r\n\(host): 1\r\n\r\n", 400, "empty name"),
      ("GET / HTTP/1.1\r\n\(host)X-A\r\n\r\n", 400, "no colon"),
      ("GET / HTTP/1.1\r\n\(host)X-A: a\u{0}b\r\n\r\n", 400, "NUL in value"),
      ("GET / HTTP/1.1\r\n\(host)X-A: a\u{0b}b\r\n\r\n", 400, "VT in value"),
      ("GET / HTTP/1.1\r\n\(host)X-A: a\u{7f}\r\n\r\n", 400, "DEL in value"),
      ("GET / HTTP/1.1\r\n\(host)X-\u{e9}: a\r\n\r\n", 400, "non-ASCII name"),
      // Host.
      ("GET / HTTP/1.1\r\n\r\n", 400, "no Host on 1.1"),
      ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, "two Hosts"),
      ("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, "two Hosts on 1.0"),
      // Content-Length.
      ("\(post)Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400, "duplicate Content-Length, same value"),
      ("\(post)Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "duplicate Content-Length"),
      ("\(post)Content-Length: 5, 5\r\n\r\n", 400, "Content-Length list"),
      ("\(post)Content-Length: +5\r\n\r\n", 400, "Content-Length with +"),
      ("\(post)Content-Length: -1\r\n\r\n", 400, "negative Content-Length"),
      ("\(post)Content-Length: 5 5\r\n\r\n", 400, "Content-Length with space"),
      ("\(post)Content-Length: 0x10\r\n\r\n", 400, "hex Content-Length"),
      ("\(post)Content-Length:\r\n\r\n", 400, "empty Content-Length"),
      ("\(post)Content-Length: 1e3\r\n\r\n", 400, "exponent Content-Length"),
      ("\(post)Content-Length: 33554433\r\n\r\n", 413, "Content-Length over the limit"),
      ("\(post)Content-Length: 99999999999999999999999999\r\n\r\n", 413, "Content-Length past Int"),
      // Transfer-Encoding and smuggling.
      ("\(post)Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "CL.TE"),
      ("\(post)Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n", 400, "TE.CL"),
      ("\(post)Transfer-Encoding: xchunked\r\n\r\n", 501, "TE xchunked"),
      ("\(post)Transfer-Encoding: chunked, identity\r\n\r\n", 501, "TE chunked, identity"),
      ("\(post)Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "TE gzip, chunked"),
      ("\(post)Transfer-Encoding: identity\r\n\r\n", 501, "TE identity"),
      ("\(post)Transfer-Encoding: \"chunked\"\r\n\r\n", 501, "TE quoted"),
      ("\(post)Transfer-Encoding: chunked;q=1\r\n\r\n", 501, "TE with parameter"),
      ("\(post)Transfer-Encoding:\r\n\r\n", 501, "TE empty"),
      ("\(post)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "TE twice"),
      ("\(post)Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 400, "TE twice, different"),
      ("\(post) Transfer-Encoding: chunked\r\n\r\n", 400, "TE indented (folded onto Host)"),
      ("\(post)Transfer-Encoding : chunked\r\n\r\n", 400, "TE space before colon"),
      ("\(post)Transfer-Encoding\t: chunked\r\n\r\n", 400, "TE tab before colon"),
      ("\(post)Transfer-Encoding: chunked\u{0b}\r\n\r\n", 400, "TE with VT"),
      ("\(post)Transfer-Encoding: \u{0}chunked\r\n\r\n", 400, "TE with NUL"),
      ("\(post)Transfer-Encoding:\n chunked\r\n\r\n", 400, "TE value on a folded line"),
      ("\(post)Transfer-Encoding: x\r\n chunked\r\n\r\n", 400, "TE obs-fold"),
      ("\(post)X: 1\nTransfer-Encoding: chunked\r\n\r\n", 400, "TE after bare LF"),
      ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "chunked on HTTP/1.0"),
      ("POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "TE on HTTP/1.0"),
      // Expect.
      ("\(post)Expect: 100-continue, foo\r\n\r\n", 417, "Expect list"),
      ("\(post)Expect: 200-ok\r\n\r\n", 417, "Expect other"),
      ("\(post)Expect: 100-continue\r\nExpect: x\r\n\r\n", 417, "second Expect"),
    ]
    for (text, status, name) in cases {
      XCTAssertEqual(outcome(parseRequest(text.bytes)), .refused(status), name)
    }
    var latin1 = "GET / HTTP/1.1\r\n\(host)X: caf".bytes
    latin1 += [0xE9] + "\r\n\r\n".bytes
    // Kept as a String, so refused rather than silently rewritten.
    XCTAssertEqual(outcome(parseRequest(latin1)), .refused(400), "obs-text that is not UTF-8")
  }

  func testHeaderCountAndSizeLimits() {
    let limits = HTTPLimits(maxHeaderBytes: 200, maxBodyBytes: 10, maxHeaderCount: 3)
    let three = "GET / HTTP/1.1\r\n\(host)A: 1\r\nB: 2\r\n\r\n"
    XCTAssertEqual(outcome(parseRequest(three.bytes, limits: limits)), .parsed(consumed: three.utf8.count))
    let four = "GET / HTTP/1.1\r\n\(host)A: 1\r\nB: 2\r\nC: 3\r\n\r\n"
    XCTAssertEqual(outcome(parseRequest(four.bytes, limits: limits)), .refused(431))
    // The fourth header line refused as soon as it starts.
    XCTAssertEqual(outcome(parseRequest(Array(four.bytes.prefix(three.utf8.count)), limits: limits)), .refused(431))
    XCTAssertEqual(
      outcome(parseRequest("POST / HTTP/1.1\r\n\(host)Content-Length: 11\r\n\r\n".bytes, limits: limits)), .refused(413)
    )
    let ten = "POST / HTTP/1.1\r\n\(host)Content-Length: 10\r\n\r\n"
    XCTAssertEqual(outcome(parseRequest(ten.bytes, limits: limits)), .parsed(consumed: ten.utf8.count))

    // A head of exactly the limit fits; one byte more does not, complete or not.
    let padding = 200 - "GET / HTTP/1.1\r\n\(host)X: \r\n\r\n".utf8.count
    let exact = "GET / HTTP/1.1\r\n\(host)X: \(String(repeating: "a", count: padding))\r\n\r\n"
    XCTAssertEqual(exact.utf8.count, 200)
    XCTAssertEqual(outcome(parseRequest(exact.bytes, limits: limits)), .parsed(consumed: 200))
    XCTAssertEqual(outcome(parseRequest(exact.bytes + [0x41], limits: limits)), .parsed(consumed: 200))
    let over = "GET / HTTP/1.1\r\n\(host)X: \(String(repeating: "a", count: padding + 1))\r\n\r\n"
    XCTAssertEqual(outcome(parseRequest(over.bytes, limits: limits)), .refused(431))
    XCTAssertEqual(outcome(parseRequest(Array(over.bytes.prefix(200)), limits: limits)), .refused(431))
    XCTAssertEqual(outcome(parseRequest(Array(over.bytes.prefix(199)), limits: limits)), .incomplete)
  }

  /// Every proper prefix of a valid head is incomplete (never refused), and the whole parses.
  func testEveryPrefixIsIncomplete() {
    let heads = [
      "POST /anthropic/v1/messages?beta=true HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: vs_1\r\n"
        + "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
      "\r\nGET /a%20b HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n",
    ]
    for text in heads {
      let bytes = text.bytes
      for end in 0..<bytes.count {
        XCTAssertEqual(
          outcome(parseRequest(Array(bytes[..<end]))), .incomplete, "prefix \(end) of \(text.debugDescription)")
      }
      XCTAssertEqual(outcome(parseRequest(bytes)), .parsed(consumed: bytes.count))
      XCTAssertEqual(outcome(parseRequest(bytes + "abc".bytes)), .parsed(consumed: bytes.count))
    }
  }

  /// A head that can no longer become valid is refused before its end arrives.
  func testRefusedBeforeTheHeadEnds() {
    let prefixes: [(String, Int)] = [
      ("GE(", 400), ("GET  ", 400), ("GET http:", 400), ("GET /a b", 400), ("GET / HTTQ", 400), ("GET / HTTP/2.0", 505),
      ("GET / HTTP/2", 505), ("GET / HTTP/1.2", 505),
      ("GET / HTTP/1.1\r\nHost: a\r\nX-A ", 400), ("GET / HTTP/1.1\r\nHost: a\r\n ", 400),
      ("GET / HTTP/1.1\r\nHost: a\u{0}", 400), ("GET / HTTP/1.1\r\nHost: a\rb", 400), ("GET / HTTP/1.1\n", 400),
      ("GET /%x", 400),
    ]
    for (text, status) in prefixes {
      XCTAssertEqual(outcome(parseRequest(text.bytes)), .refused(status), text.debugDescription)
    }
    // A line ending in CR may still get its LF: not refused yet.
    XCTAssertEqual(outcome(parseRequest("GET / HTTP/1.1\r\nHost: a\r".bytes)), .incomplete)
  }

  func testEmptyInputIsIncomplete() {
    XCTAssertEqual(outcome(parseRequest([])), .incomplete)
    XCTAssertEqual(outcome(parseRequest("\r\n".bytes)), .incomplete)
  }
}
