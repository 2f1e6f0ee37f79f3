/// An upstream's response head. Its body framing depends on the request too (a HEAD has no
/// body): ask `HTTPResponseParser.framing(of:requestMethod:)`.
public struct HTTPResponseHead: Sendable {
  /// 100...599.
  public var status: Int
  /// May be empty.
  public var reason: String
  /// 0 or 1.
  public var minorVersion: Int
  /// In the order received, names as received.
  public var headers: [HTTPHeader]
  /// Whether the upstream lets the connection be reused after this response, by its version
  /// and Connection header only (a body framed `.untilClose` ends the connection regardless).
  public var keepAlive: Bool

  /// The value of the first header named `name` (ASCII case-insensitive).
  public func value(of name: String) -> String? { headers.firstValue(named: name) }
}
