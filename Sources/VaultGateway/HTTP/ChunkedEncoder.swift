/// The framing bytes of a chunked body (RFC 9112 section 7.1), for relaying a body whose
/// length is not known in advance: `chunkHeader(count:)`, the data, `chunkEnd`, and at last
/// `terminator`.
public enum ChunkedEncoder {
  /// "1a\r\n": the size line of a chunk of `count` bytes, in lowercase hex. `count` must be
  /// positive: a chunk of size 0 is the last-chunk and would end the body early.
  public static func chunkHeader(count: Int) -> [UInt8] {
    precondition(count > 0, "a chunk of size 0 would end the body")
    let digits: StaticString = "0123456789abcdef"
    var line = [UInt8]()
    line.reserveCapacity(18)
    var shift = (Int.bitWidth - count.leadingZeroBitCount - 1) / 4 * 4
    while shift >= 0 {
      line.append(digits.utf8Start[(count >> shift) & 0xF])
      shift -= 4
    }
    line.append(HTTPSyntax.cr)
    line.append(HTTPSyntax.lf)
    return line
  }

  /// "\r\n": follows each chunk's data.
  public static let chunkEnd: [UInt8] = [HTTPSyntax.cr, HTTPSyntax.lf]

  /// "0\r\n\r\n": the last-chunk and an empty trailer section.
  public static let terminator: [UInt8] = Array("0\r\n\r\n".utf8)
}
