/// Parses an upstream's response head. As strict as `HTTPRequestParser` on everything that
/// decides where the response ends; lenient only where real servers need it: the reason
/// phrase may be empty or missing (with its SP), and header values that are not UTF-8 are
/// decoded with replacement characters instead of refused. Every error is a 502, the status
/// the gateway answers its client with when an upstream misbehaves.
public enum HTTPResponseParser {
  /// nil when the head is not complete yet; else the head and how many bytes it used. Throws
  /// (502) as soon as the bytes seen cannot be a valid head, or when no complete head fits in
  /// `limits.maxHeaderBytes`.
  public static func parse(
    _ bytes: UnsafeRawBufferPointer, limits: HTTPLimits
  ) throws(HTTPParseError) -> (head: HTTPResponseHead, consumed: Int)? {
    do {
      return try parseHead(bytes, limits: limits)
    } catch {
      throw upstream(error.reason)
    }
  }

  /// RFC 9112 section 6.3: 1xx, 204, 304 and responses to HEAD have no body; then
  /// `Transfer-Encoding: chunked`; then Content-Length; else the body runs until the upstream
  /// closes. Content-Length with Transfer-Encoding, two Content-Lengths (even equal ones), a
  /// malformed Content-Length or more than one Transfer-Encoding line are refused on every
  /// response, and a transfer coding other than exactly `chunked` on one with a body: a
  /// response whose end the gateway could misjudge is never relayed.
  public static func framing(
    of head: HTTPResponseHead, requestMethod: String
  ) throws(HTTPParseError) -> ResponseBodyFraming {
    var contentLength: Int?
    var transferEncodings = 0
    var transferEncoding = ""
    for header in head.headers {
      if HTTPSyntax.equalsIgnoringCase(header.name, "content-length") {
        if contentLength != nil { throw upstream("more than one Content-Length") }
        guard let length = HTTPSyntax.contentLength(header.value), length < Int.max else {
          throw upstream("Content-Length is not a number")
        }
        contentLength = length
      } else if HTTPSyntax.equalsIgnoringCase(header.name, "transfer-encoding") {
        transferEncodings += 1
        transferEncoding = header.value
      }
    }
    if transferEncodings > 0 && contentLength != nil { throw upstream("both Content-Length and Transfer-Encoding") }
    if transferEncodings > 1 { throw upstream("more than one Transfer-Encoding") }

    if requestMethod == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304 { return .none }
    if transferEncodings == 1 {
      guard head.minorVersion == 1, HTTPSyntax.equalsIgnoringCase(transferEncoding, "chunked") else {
        throw upstream("transfer coding not supported")
      }
      return .chunked
    }
    if let contentLength { return .contentLength(contentLength) }
    return .untilClose
  }

  private static func upstream(_ reason: String) -> HTTPParseError {
    HTTPParseError(status: 502, reason: "upstream: \(reason)")
  }

  private static func parseHead(
    _ bytes: UnsafeRawBufferPointer, limits: HTTPLimits
  ) throws(HTTPParseError) -> (head: HTTPResponseHead, consumed: Int)? {
    var scanner = HTTPHeadScanner(bytes, maxHeaderBytes: limits.maxHeaderBytes)
    guard let line = try scanner.nextLine() else {
      let tail = scanner.tail
      if !tail.isEmpty { _ = try parseStatusLine(scanner, tail, complete: false) }
      try scanner.checkCanGrow()
      return nil
    }
    guard let statusLine = try parseStatusLine(scanner, line, complete: true) else { return nil }
    var headers: [HTTPHeader] = []
    headers.reserveCapacity(16)
    var close = false
    var keepAliveToken = false
    while true {
      guard let line = try scanner.nextLine() else {
        let tail = scanner.tail
        if !tail.isEmpty {
          if headers.count >= limits.maxHeaderCount {
            throw HTTPParseError(status: 431, reason: "too many header fields")
          }
          _ = try scanner.headerLine(tail, complete: false, strictUTF8: false)
        }
        try scanner.checkCanGrow()
        return nil
      }
      if line.isEmpty { break }
      if headers.count >= limits.maxHeaderCount { throw HTTPParseError(status: 431, reason: "too many header fields") }
      guard let header = try scanner.headerLine(line, complete: true, strictUTF8: false) else { continue }
      if HTTPSyntax.equalsIgnoringCase(header.name, "connection") {
        HTTPSyntax.forEachListElement(header.value) { token in
          let token = UnsafeRawBufferPointer(token)
          if HTTPSyntax.equalsIgnoringCase(token, "close") { close = true }
          if HTTPSyntax.equalsIgnoringCase(token, "keep-alive") { keepAliveToken = true }
        }
      }
      headers.append(header)
    }
    let minor = statusLine.minorVersion
    let head = HTTPResponseHead(
      status: statusLine.status, reason: statusLine.reason, minorVersion: minor, headers: headers,
      keepAlive: minor == 1 ? !close : keepAliveToken && !close)
    return (head, scanner.position)
  }

  private struct StatusLine {
    var minorVersion: Int
    var status: Int
    var reason: String
  }

  /// `HTTP-version SP 3DIGIT [SP reason-phrase]`. With `complete` false the line is a prefix
  /// still arriving: only checked, and nil returned.
  private static func parseStatusLine(
    _ scanner: HTTPHeadScanner, _ range: Range<Int>, complete: Bool
  ) throws(HTTPParseError) -> StatusLine? {
    let bytes = scanner.bytes
    let start = range.lowerBound
    let end = range.upperBound
    guard range.count >= 8 else {
      _ = try scanner.version(range, complete: complete)
      return nil
    }
    let minor = try scanner.version(start..<(start + 8), complete: true)!
    if end == start + 8 {
      if complete { throw .badRequest("malformed status line") }
      return nil
    }
    if bytes[start + 8] != HTTPSyntax.sp { throw .badRequest("malformed status line") }
    var status = 0
    for index in (start + 9)..<min(start + 12, end) {
      guard HTTPSyntax.isDigit(bytes[index]) else { throw .badRequest("malformed status code") }
      status = status * 10 + Int(bytes[index] &- 0x30)
    }
    if end < start + 12 {
      if complete { throw .badRequest("malformed status code") }
      return nil
    }
    guard (100...599).contains(status) else { throw .badRequest("status code out of range") }
    var reason = ""
    if end > start + 12 {
      if bytes[start + 12] != HTTPSyntax.sp { throw .badRequest("malformed status code") }
      let reasonRange = (start + 13)..<end
      for index in reasonRange where !HTTPSyntax.isFieldByte(bytes[index]) {
        throw scanner.invalid(bytes[index], in: "reason phrase")
      }
      guard complete else { return nil }
      reason = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[reasonRange]), as: UTF8.self)
    }
    guard complete else { return nil }
    return StatusLine(minorVersion: minor, status: status, reason: reason)
  }
}
