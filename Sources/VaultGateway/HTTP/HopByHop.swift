/// Header fields that belong to one connection and must not be forwarded (RFC 9110 section
/// 7.6.1): the fixed list, plus every name the message's own Connection header lists.
///
/// A client can list any name in Connection, e.g. `Connection: content-length, host`: the
/// forwarder must write Host, the body framing and the provider's credentials itself, never
/// rely on copying them, so that listing them can only remove what the gateway replaces anyway.
public enum HopByHop {
  /// Whether the field `name` must not be forwarded; `connectionTokens` as returned by
  /// `connectionTokens(_:)` (lowercased).
  public static func isHopByHop(_ name: String, connectionTokens: Set<String>) -> Bool {
    var name = name
    let fixed = name.withUTF8 { bytes -> Bool in
      let bytes = UnsafeRawBufferPointer(bytes)
      switch bytes.count {
      case 2: return HTTPSyntax.equalsIgnoringCase(bytes, "te")
      case 7: return HTTPSyntax.equalsIgnoringCase(bytes, "trailer") || HTTPSyntax.equalsIgnoringCase(bytes, "upgrade")
      case 10:
        return HTTPSyntax.equalsIgnoringCase(bytes, "connection") || HTTPSyntax.equalsIgnoringCase(bytes, "keep-alive")
      case 16: return HTTPSyntax.equalsIgnoringCase(bytes, "proxy-connection")
      case 17: return HTTPSyntax.equalsIgnoringCase(bytes, "transfer-encoding")
      case 18: return HTTPSyntax.equalsIgnoringCase(bytes, "proxy-authenticate")
      case 19: return HTTPSyntax.equalsIgnoringCase(bytes, "proxy-authorization")
      default: return false
      }
    }
    if fixed { return true }
    return !connectionTokens.isEmpty && connectionTokens.contains(HTTPSyntax.lowercased(name))
  }

  /// The lowercased tokens of every Connection header in `headers` (a comma-separated list,
  /// possibly over several lines); empty elements are dropped.
  public static func connectionTokens(_ headers: [HTTPHeader]) -> Set<String> {
    var tokens = Set<String>()
    for header in headers where HTTPSyntax.equalsIgnoringCase(header.name, "connection") {
      HTTPSyntax.forEachListElement(header.value) { token in
        tokens.insert(HTTPSyntax.lowercased(String(decoding: token, as: UTF8.self)))
      }
    }
    return tokens
  }
}
