/// How a request's body is delimited (RFC 9112 section 6.3), decided once from its head.
public enum BodyFraming: Equatable, Sendable {
  /// No Content-Length and no Transfer-Encoding: the request has no body.
  case none
  /// Exactly this many bytes follow the head (at most `HTTPLimits.maxBodyBytes`).
  case contentLength(Int)
  /// `Transfer-Encoding: chunked`: decode with `ChunkedDecoder`.
  case chunked
}
