/// Why bytes are not an acceptable HTTP/1.1 message, with the status to answer: for a client's
/// request 400 (malformed), 413 (body too large), 417 (unknown expectation), 431 (head too
/// large), 501 (unsupported transfer coding) or 505 (not HTTP/1.0 or 1.1); for an upstream's
/// response always 502. `reason` is short, lowercase and never quotes the offending bytes,
/// so it is safe to log and to send back.
public struct HTTPParseError: Error, Equatable, Sendable {
  public var status: Int
  public var reason: String

  public init(status: Int, reason: String) {
    self.status = status
    self.reason = reason
  }

  static func badRequest(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
}
