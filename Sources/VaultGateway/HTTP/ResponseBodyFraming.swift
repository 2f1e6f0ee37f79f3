/// How an upstream response's body is delimited (RFC 9112 section 6.3).
public enum ResponseBodyFraming: Equatable, Sendable {
  /// 1xx, 204, 304 or the answer to HEAD: no body, whatever the headers say.
  case none
  /// Exactly this many bytes follow the head.
  case contentLength(Int)
  /// `Transfer-Encoding: chunked`: decode with `ChunkedDecoder`.
  case chunked
  /// Neither header: the body ends when the upstream closes, so the connection cannot be reused.
  case untilClose
}
