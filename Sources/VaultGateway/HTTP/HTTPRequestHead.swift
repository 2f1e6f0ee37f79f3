/// A client's request head that passed every check of `HTTPRequestParser`: its framing is
/// known and unambiguous, so the body can be read without any further interpretation.
public struct HTTPRequestHead: Sendable {
  public var method: String
  /// The raw origin-form target, e.g. "/openai/chat/completions?x=1".
  public var target: String
  /// The target before the first "?".
  public var path: String
  /// The target after the first "?" (empty when the target ends in "?"), nil without "?".
  public var query: String?
  /// 0 or 1 (HTTP/1.0 or HTTP/1.1).
  public var minorVersion: Int
  /// In the order received, names as received.
  public var headers: [HTTPHeader]
  public var framing: BodyFraming
  /// HTTP/1.1: true unless `Connection: close`; HTTP/1.0: true only with `Connection: keep-alive`.
  public var keepAlive: Bool
  /// `Expect: 100-continue` on an HTTP/1.1 request (ignored on 1.0, as RFC 9110 asks).
  public var expectsContinue: Bool

  /// The value of the first header named `name` (ASCII case-insensitive).
  public func value(of name: String) -> String? { headers.firstValue(named: name) }
}
