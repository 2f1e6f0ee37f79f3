/// A provider's API base as the gateway sends to it: `https://host[:port][/path]`, or
/// `http://` to a loopback host only (a key sent in clear must not leave the machine).
public struct EndpointURL: Equatable, Sendable {
  public var usesTLS: Bool
  /// Lowercase DNS name, IPv4 literal, or `::1` (written `[::1]` in the URL).
  public var host: String
  public var port: Int
  /// `""` or `/segment/...`, never ending in `/`.
  public var basePath: String

  public static let maximumLength = 2_048

  /// Parses `text`; nil when it is not a base URL the gateway may use.
  public init?(_ text: String) {
    guard text.utf8.count <= Self.maximumLength else { return nil }
    var rest: Substring
    if text.hasPrefix("https://") {
      usesTLS = true
      rest = text.dropFirst(8)
    } else if text.hasPrefix("http://") {
      usesTLS = false
      rest = text.dropFirst(7)
    } else {
      return nil
    }
    let authority = rest.prefix { $0 != "/" }
    rest = rest.dropFirst(authority.count)
    var hostPart = Substring(authority)
    var portText: Substring? = nil
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else { return nil }
      hostPart = authority[authority.index(after: authority.startIndex)..<close]
      let after = authority[authority.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { return nil }
        portText = after.dropFirst()
      }
      guard hostPart == "::1" else { return nil }
    } else if let colon = authority.firstIndex(of: ":") {
      hostPart = authority[..<colon]
      portText = authority[authority.index(after: colon)...]
    }
    guard hostPart == "::1" || Self.isHostName(hostPart) else { return nil }
    host = String(hostPart)
    if let portText {
      guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText),
        (1...65_535).contains(port)
      else { return nil }
      self.port = port
    } else {
      port = usesTLS ? 443 : 80
    }
    guard rest.isEmpty || (!rest.hasSuffix("/") && rest.utf8.allSatisfy(Self.isPathByte)) else { return nil }
    basePath = String(rest)
    guard usesTLS || isLoopback else { return nil }
  }

  public static func isValidBaseURL(_ text: String) -> Bool { EndpointURL(text) != nil }

  /// 127.0.0.0/8, `::1` or `localhost`.
  public var isLoopback: Bool {
    if host == "::1" || host == "localhost" { return true }
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { $0.allSatisfy(\.isASCIIDigit) && !$0.isEmpty }
  }

  /// The `Host` header value: the host, with the port when it is not the scheme's default.
  public var hostHeader: String {
    let name = host == "::1" ? "[::1]" : host
    return port == (usesTLS ? 443 : 80) ? name : "\(name):\(port)"
  }

  /// The host for TLS name checks (SNI and certificate).
  public var serverName: String { host }

  private static func isHostName(_ text: Substring) -> Bool {
    guard !text.isEmpty, text.utf8.count <= 253, !text.hasPrefix("."), !text.hasSuffix("."), !text.hasPrefix("-") else {
      return false
    }
    return text.utf8.allSatisfy { byte in
      (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
  }

  /// RFC 3986 path characters without `?`, `#`, `%`-free oddities kept simple: unreserved,
  /// sub-delims but `|`-free, `:`, `@`, `/` and `%`.
  private static func isPathByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    default:
      return Array("-._~!$&'()*+,;=:@/%".utf8).contains(byte)
    }
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
