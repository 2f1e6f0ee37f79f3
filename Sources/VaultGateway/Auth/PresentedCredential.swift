/// The agent key (or session token) a request presents, found where that provider's SDK puts
/// its key: `Authorization: Bearer`, `x-api-key`, `x-goog-api-key`, `api-key`, or `?key=`.
/// None of these is ever forwarded: the upstream gets the provider key in their place.
struct PresentedCredential: Sendable {
  /// The token's text.
  var text: [UInt8]

  /// Header names that carry a credential, lowercased; dropped from every forwarded request.
  static let headerNames: Set<String> = ["authorization", "x-api-key", "x-goog-api-key", "api-key"]

  /// The first credential the request carries, or nil.
  static func find(in head: HTTPRequestHead) -> PresentedCredential? {
    for header in head.headers {
      switch header.name.lowercased() {
      case "authorization":
        let value = header.value
        if value.count > 7, value.prefix(7).lowercased() == "bearer " {
          return PresentedCredential(text: Array(value.dropFirst(7).utf8))
        }
      case "x-api-key", "x-goog-api-key", "api-key":
        return PresentedCredential(text: Array(header.value.utf8))
      default:
        continue
      }
    }
    if let query = head.query {
      for pair in query.split(separator: "&") where pair.hasPrefix("key=") {
        return PresentedCredential(text: Array(pair.dropFirst(4).utf8))
      }
    }
    return nil
  }

  /// `query` without its `key=` parameters (the agent's token must not reach the provider).
  static func strippingKey(from query: String?) -> String? {
    guard let query else { return nil }
    let kept = query.split(separator: "&", omittingEmptySubsequences: false).filter { !$0.hasPrefix("key=") }
    return kept.isEmpty ? nil : kept.joined(separator: "&")
  }
}
