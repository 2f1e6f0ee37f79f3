import XCTest

@testable import VaultGateway

/// Runs a chunked decoder over `pieces` in order; the emitted body, the bytes consumed in all,
/// whether the body ended, and the error if one was thrown (then `consumed` is -1: it means nothing).
func decodeChunked(
  _ pieces: [[UInt8]], maxBodyBytes: Int = 1 << 20, maxTrailerBytes: Int = 16_384
) -> (body: [UInt8], consumed: Int, complete: Bool, error: HTTPParseError?) {
  var decoder = ChunkedDecoder(maxBodyBytes: maxBodyBytes, maxTrailerBytes: maxTrailerBytes)
  var body: [UInt8] = []
  var consumed = 0
  for piece in pieces {
    do {
      let used = try piece.withUnsafeBytes { buffer in try decoder.decode(buffer) { body.append(contentsOf: $0) } }
      consumed += used
      if used < piece.count { break }
    } catch {
      return (body, -1, decoder.isComplete, error as? HTTPParseError)
    }
  }
  return (body, consumed, decoder.isComplete, nil)
}

final class ChunkedDecoderTests: XCTestCase {
  func testDecodesValidBodies() {
    let cases: [(String, String)] = [
      ("0\r\n\r\n", ""),
      ("5\r\nhello\r\n0\r\n\r\n", "hello"),
      ("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
      ("A\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
      ("a\r\n0123456789\r\n000\r\n\r\n", "0123456789"),
      ("0005\r\nhello\r\n0\r\n\r\n", "hello"),
      ("5;name\r\nhello\r\n0;a=b;c\r\n\r\n", "hello"),
      ("5;n=v;m=w\r\nhello\r\n0\r\n\r\n", "hello"),
      ("5\r\nhello\r\n0\r\nX-Trailer: 1\r\nOther: a b\t\r\n\r\n", "hello"),
      ("3\r\n\r\n\r\r\n0\r\n\r\n", "\r\n\r"),
    ]
    for (wire, body) in cases {
      let result = decodeChunked([wire.bytes])
      XCTAssertNil(result.error, wire.debugDescription)
      XCTAssertTrue(result.complete, wire.debugDescription)
      XCTAssertEqual(result.body, body.bytes, wire.debugDescription)
      XCTAssertEqual(result.consumed, wire.utf8.count, wire.debugDescription)
    }
  }

  func testStopsAtTheEndOfTheBody() {
    let wire = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n".bytes
    let result = decodeChunked([wire])
    XCTAssertEqual(result.consumed, 15)
    XCTAssertTrue(result.complete)
    XCTAssertEqual(result.body, "hello".bytes)
    // Once complete, nothing more is consumed.
    var decoder = ChunkedDecoder(maxBodyBytes: 100)
    XCTAssertEqual(try wire.withUnsafeBytes { try decoder.decode($0) { _ in } }, 15)
    XCTAssertEqual(try wire.withUnsafeBytes { try decoder.decode($0) { _ in XCTFail("emitted after the end") } }, 0)
  }

  /// Every rule, with a body that breaks it and the status it must be refused with.
  func testRefusedBodies() {
    let cases: [(String, Int, String)] = [
      ("\r\n", 400, "no size"),
      ("g\r\n", 400, "not hex"),
      ("-5\r\nhello\r\n0\r\n\r\n", 400, "signed size"),
      ("+5\r\nhello\r\n0\r\n\r\n", 400, "plus size"),
      ("0x5\r\nhello\r\n0\r\n\r\n", 400, "0x prefix"),
      (" 5\r\nhello\r\n0\r\n\r\n", 400, "space before size"),
      ("5 \r\nhello\r\n0\r\n\r\n", 400, "space after size"),
      ("5\t\r\nhello\r\n0\r\n\r\n", 400, "tab after size"),
      ("5\nhello\r\n0\r\n\r\n", 400, "bare LF after size"),
      ("5\rhello\r\n0\r\n\r\n", 400, "bare CR after size"),
      ("5;\r\nhello\r\n0\r\n\r\n", 400, "empty extension"),
      ("5; a\r\nhello\r\n0\r\n\r\n", 400, "space in extension"),
      ("5;a=\r\nhello\r\n0\r\n\r\n", 400, "empty extension value"),
      ("5;a=\"b\"\r\nhello\r\n0\r\n\r\n", 400, "quoted extension value"),
      ("5;a=b=c\r\nhello\r\n0\r\n\r\n", 400, "two equals"),
      ("5;a\u{0}\r\nhello\r\n0\r\n\r\n", 400, "NUL in extension"),
      ("5\r\nhelloX\r\n0\r\n\r\n", 400, "data longer than size"),
      ("5\r\nhello\n0\r\n\r\n", 400, "bare LF after data"),
      ("5\r\nhello\r0\r\n\r\n", 400, "bare CR after data"),
      ("5\r\nhello0\r\n\r\n", 400, "no CRLF after data"),
      ("0\r\n\n", 400, "bare LF ending the trailers"),
      ("0\r\n\rX", 400, "bare CR ending the trailers"),
      ("0\r\nX: 1\n\r\n", 400, "bare LF after a trailer"),
      ("0\r\nX: 1\r\n folded\r\n\r\n", 400, "folded trailer"),
      ("0\r\nX : 1\r\n\r\n", 400, "space before trailer colon"),
      ("0\r\nX\r\n\r\n", 400, "trailer without colon"),
      ("0\r\n: 1\r\n\r\n", 400, "empty trailer name"),
      ("0\r\nX: a\u{0}\r\n\r\n", 400, "NUL in trailer"),
      ("0\r\nX: a\u{1}\r\n\r\n", 400, "control char in trailer"),
      ("100001\r\n", 413, "one chunk over the limit"),
      ("fffffffffffffffffffffffffffffff\r\n", 413, "size past Int"),
      ("80000\r\n" + String(repeating: "a", count: 0x80000) + "\r\n80001\r\n", 413, "total over the limit"),
      ("1" + String(repeating: ";a", count: 600) + "\r\n", 400, "size line too long"),
      (String(repeating: "0", count: 2_000) + "1\r\n", 400, "leading zeros without end"),
    ]
    for (wire, status, name) in cases {
      let result = decodeChunked([wire.bytes], maxBodyBytes: 1 << 20)
      XCTAssertEqual(result.error?.status, status, name)
      XCTAssertFalse(result.complete, name)
    }
  }

  func testLimits() {
    let exact = "8\r\n12345678\r\n0\r\n\r\n"
    XCTAssertNil(decodeChunked([exact.bytes], maxBodyBytes: 8).error)
    XCTAssertEqual(decodeChunked([exact.bytes], maxBodyBytes: 7).error?.status, 413)
    let split = "4\r\n1234\r\n4\r\n5678\r\n1\r\n9\r\n0\r\n\r\n"
    XCTAssertEqual(decodeChunked([split.bytes], maxBodyBytes: 8).error?.status, 413)
    let trailers = "0\r\nX: 12345\r\n\r\n"
    XCTAssertNil(decodeChunked([trailers.bytes], maxTrailerBytes: 12).error)
    XCTAssertEqual(decodeChunked([trailers.bytes], maxTrailerBytes: 11).error?.status, 431)
  }

  func testAnErrorSticks() {
    var decoder = ChunkedDecoder(maxBodyBytes: 100)
    XCTAssertThrowsError(try "x".bytes.withUnsafeBytes { try decoder.decode($0) { _ in } })
    XCTAssertThrowsError(try "5\r\nhello\r\n".bytes.withUnsafeBytes { try decoder.decode($0) { _ in } }) { error in
      XCTAssertEqual((error as? HTTPParseError)?.status, 400)
    }
  }

  func testEmitErrorsPassThrough() {
    struct WriteFailed: Error {}
    var decoder = ChunkedDecoder(maxBodyBytes: 100)
    XCTAssertThrowsError(
      try "5\r\nhello\r\n".bytes.withUnsafeBytes { try decoder.decode($0) { _ in throw WriteFailed() } }
    ) {
      XCTAssertTrue($0 is WriteFailed)
    }
  }

  /// Any split of the input, into two or into single bytes, gives the same body, count, end and error.
  func testEverySplitMatchesOneShot() {
    let wires = [
      "5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\n\r\nNEXT",
      "3\r\nabc\r\n0\r\n\r\n",
      "5\r\nhello\r\nZ\r\n",
      "5\r\nhelloXY",
      "0\r\nX: 1\r\n\r",
    ]
    for wire in wires {
      let bytes = wire.bytes
      let whole = decodeChunked([bytes])
      for cut in 0...bytes.count {
        let split = decodeChunked([Array(bytes[..<cut]), Array(bytes[cut...])])
        XCTAssertEqual(split.body, whole.body, "cut \(cut) of \(wire.debugDescription)")
        XCTAssertEqual(split.consumed, whole.consumed, "cut \(cut) of \(wire.debugDescription)")
        XCTAssertEqual(split.complete, whole.complete, "cut \(cut) of \(wire.debugDescription)")
        XCTAssertEqual(split.error, whole.error, "cut \(cut) of \(wire.debugDescription)")
      }
      let bytewise = decodeChunked(bytes.map { [$0] })
      XCTAssertEqual(bytewise.body, whole.body, wire.debugDescription)
      XCTAssertEqual(bytewise.consumed, whole.consumed, wire.debugDescription)
      XCTAssertEqual(bytewise.error, whole.error, wire.debugDescription)
    }
  }

  func testEncoder() {
    XCTAssertEqual(ChunkedEncoder.chunkHeader(count: 1), "1\r\n".bytes)
    XCTAssertEqual(ChunkedEncoder.chunkHeader(count: 0x1a), "1a\r\n".bytes)
    XCTAssertEqual(ChunkedEncoder.chunkHeader(count: 16), "10\r\n".bytes)
    XCTAssertEqual(ChunkedEncoder.chunkHeader(count: 65_536), "10000\r\n".bytes)
    XCTAssertEqual(ChunkedEncoder.chunkHeader(count: Int.max), "7fffffffffffffff\r\n".bytes)
    XCTAssertEqual(ChunkedEncoder.chunkEnd, "\r\n".bytes)
    XCTAssertEqual(ChunkedEncoder.terminator, "0\r\n\r\n".bytes)
    // What the encoder writes, the decoder reads back.
    let wire =
      ChunkedEncoder.chunkHeader(count: 3) + "abc".bytes + ChunkedEncoder.chunkEnd
      + ChunkedEncoder.chunkHeader(count: 300)
      + [UInt8](repeating: 0x78, count: 300) + ChunkedEncoder.chunkEnd + ChunkedEncoder.terminator
    let result = decodeChunked([wire])
    XCTAssertNil(result.error)
    XCTAssertEqual(result.body, "abc".bytes + [UInt8](repeating: 0x78, count: 300))
    XCTAssertEqual(result.consumed, wire.count)
  }
}
