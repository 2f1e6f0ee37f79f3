/// Parses a client's request head strictly (RFC 9112), so that this gateway and the upstream
/// behind it can never disagree about where a request ends: anything a lenient parser would
/// have to guess about (two lengths, obfuscated codings, folded or indented lines, bare CR or
/// LF, whitespace before a colon) is refused with the status to answer.
public enum HTTPRequestParser {
  /// Empty lines skipped before the request line (RFC 9112 section 2.2 asks for at least one).
  static let maxLeadingEmptyLines = 4

  /// nil when the head is not complete yet (more bytes needed); else the head and how many
  /// bytes it used. Throws as soon as the bytes seen cannot be a valid head, or when no
  /// complete head fits in `limits.maxHeaderBytes` (431).
  ///
  /// Each call starts again from the first byte, so the work is linear in `bytes.count`; a
  /// server reading a head in many small pieces should call again only once the new bytes hold
  /// an LF (a head can only complete on one), or a slow sender costs quadratic time.
  public static func parse(
    _ bytes: UnsafeRawBufferPointer, limits: HTTPLimits
  ) throws(HTTPParseError) -> (head: HTTPRequestHead, consumed: Int)? {
    var scanner = HTTPHeadScanner(bytes, maxHeaderBytes: limits.maxHeaderBytes)
    var emptyLines = 0
    var requestLine: RequestLine?
    while requestLine == nil {
      guard let line = try scanner.nextLine() else {
        let tail = scanner.tail
        if !tail.isEmpty { _ = try parseRequestLine(scanner, tail, complete: false) }
        try scanner.checkCanGrow()
        return nil
      }
      if line.isEmpty {
        emptyLines += 1
        if emptyLines > maxLeadingEmptyLines { throw .badRequest("too many empty lines before the request line") }
        continue
      }
      requestLine = try parseRequestLine(scanner, line, complete: true)
    }
    var headers: [HTTPHeader] = []
    headers.reserveCapacity(16)
    while true {
      guard let line = try scanner.nextLine() else {
        let tail = scanner.tail
        if !tail.isEmpty {
          if headers.count >= limits.maxHeaderCount {
            throw HTTPParseError(status: 431, reason: "too many header fields")
          }
          _ = try scanner.headerLine(tail, complete: false, strictUTF8: true)
        }
        try scanner.checkCanGrow()
        return nil
      }
      if line.isEmpty { break }
      if headers.count >= limits.maxHeaderCount { throw HTTPParseError(status: 431, reason: "too many header fields") }
      if let header = try scanner.headerLine(line, complete: true, strictUTF8: true) { headers.append(header) }
    }
    let head = try makeHead(bytes, requestLine!, headers, limits: limits)
    return (head, scanner.position)
  }

  private struct RequestLine {
    var method: Range<Int>
    var target: Range<Int>
    var queryStart: Int?
    var minorVersion: Int
  }

  /// `method SP origin-form SP HTTP-version`, each separated by exactly one SP. With
  /// `complete` false the line is a prefix still arriving: only checked, and nil returned.
  private static func parseRequestLine(
    _ scanner: HTTPHeadScanner, _ range: Range<Int>, complete: Bool
  ) throws(HTTPParseError) -> RequestLine? {
    let bytes = scanner.bytes
    let end = range.upperBound
    var index = range.lowerBound
    while index < end && HTTPSyntax.isTchar(bytes[index]) { index += 1 }
    if index == end {
      if complete { throw .badRequest("malformed request line") }
      return nil
    }
    if bytes[index] != HTTPSyntax.sp { throw scanner.invalid(bytes[index], in: "method") }
    if index == range.lowerBound { throw .badRequest("empty method") }
    let method = range.lowerBound..<index
    index += 1
    let targetStart = index
    if index == end {
      if complete { throw .badRequest("malformed request line") }
      return nil
    }
    // Only origin-form: no absolute-form (a proxy request), authority-form or asterisk-form.
    if bytes[index] != 0x2F { throw .badRequest("request target is not origin-form") }
    var queryStart: Int?
    while index < end {
      let byte = bytes[index]
      if byte == HTTPSyntax.sp { break }
      if !HTTPSyntax.isTargetByte(byte) { throw scanner.invalid(byte, in: "request target") }
      if byte == 0x25 {
        for offset in 1...2 where index + offset < end {
          if !HTTPSyntax.isHexDigit(bytes[index + offset]) { throw .badRequest("malformed percent-encoding") }
        }
        index = min(index + 3, end)
        continue
      }
      if byte == 0x3F && queryStart == nil { queryStart = index }
      index += 1
    }
    if index == end {
      if complete { throw .badRequest("malformed request line") }
      return nil
    }
    let target = targetStart..<index
    let minor = try scanner.version((index + 1)..<end, complete: complete)
    guard let minor, complete else { return nil }
    return RequestLine(method: method, target: target, queryStart: queryStart, minorVersion: minor)
  }

  /// The checks that need the whole head: framing, Host, Expect, Connection.
  private static func makeHead(
    _ bytes: UnsafeRawBufferPointer, _ line: RequestLine, _ headers: [HTTPHeader], limits: HTTPLimits
  ) throws(HTTPParseError) -> HTTPRequestHead {
    let minor = line.minorVersion
    var contentLength: Int?
    var transferEncodings = 0
    var transferEncoding = ""
    var hosts = 0
    var expectation = false
    var close = false
    var keepAliveToken = false
    for header in headers {
      let name = header.name
      if HTTPSyntax.equalsIgnoringCase(name, "content-length") {
        if contentLength != nil { throw .badRequest("more than one Content-Length") }
        guard let length = HTTPSyntax.contentLength(header.value) else {
          throw .badRequest("Content-Length is not a number")
        }
        contentLength = length
      } else if HTTPSyntax.equalsIgnoringCase(name, "transfer-encoding") {
        transferEncodings += 1
        transferEncoding = header.value
      } else if HTTPSyntax.equalsIgnoringCase(name, "host") {
        hosts += 1
      } else if HTTPSyntax.equalsIgnoringCase(name, "expect") {
        guard HTTPSyntax.equalsIgnoringCase(header.value, "100-continue") else {
          throw HTTPParseError(status: 417, reason: "expectation not supported")
        }
        expectation = true
      } else if HTTPSyntax.equalsIgnoringCase(name, "connection") {
        HTTPSyntax.forEachListElement(header.value) { token in
          let token = UnsafeRawBufferPointer(token)
          if HTTPSyntax.equalsIgnoringCase(token, "close") { close = true }
          if HTTPSyntax.equalsIgnoringCase(token, "keep-alive") { keepAliveToken = true }
        }
      }
    }

    let framing: BodyFraming
    if transferEncodings > 0 {
      if contentLength != nil { throw .badRequest("both Content-Length and Transfer-Encoding") }
      if minor == 0 { throw .badRequest("Transfer-Encoding on HTTP/1.0") }
      if transferEncodings > 1 { throw .badRequest("more than one Transfer-Encoding") }
      guard HTTPSyntax.equalsIgnoringCase(transferEncoding, "chunked") else {
        throw HTTPParseError(status: 501, reason: "transfer coding not supported")
      }
      framing = .chunked
    } else if let contentLength {
      if contentLength > limits.maxBodyBytes { throw HTTPParseError(status: 413, reason: "body larger than the limit") }
      framing = .contentLength(contentLength)
    } else {
      framing = .none
    }
    if hosts > 1 || (minor == 1 && hosts == 0) { throw .badRequest("HTTP/1.1 needs exactly one Host") }

    func string(_ range: Range<Int>) -> String {
      String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
    let target = string(line.target)
    let path: String
    let query: String?
    if let queryStart = line.queryStart {
      path = string(line.target.lowerBound..<queryStart)
      query = string((queryStart + 1)..<line.target.upperBound)
    } else {
      path = target
      query = nil
    }
    return HTTPRequestHead(
      method: string(line.method), target: target, path: path, query: query, minorVersion: minor,
      headers: headers, framing: framing, keepAlive: minor == 1 ? !close : keepAliveToken && !close,
      expectsContinue: minor == 1 && expectation)
  }

}
