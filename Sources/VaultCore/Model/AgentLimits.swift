/// What an agent key may spend through the gateway (`vault serve`). Every limit is optional;
/// nil means unlimited. Bound into the token's grants (docs/FORMAT.md, "Agent keys"), so an
/// edit of the file cannot raise them without the grants failing to open.
public struct AgentLimits: Equatable, Sendable {
  public var requestsPerMinute: Int?
  public var requestsPerDay: Int?
  public var tokensPerDay: Int?
  public var concurrentRequests: Int?

  /// The largest value any limit takes: beyond it a limit means nothing.
  public static let maximumValue = 1_000_000_000_000

  public init(
    requestsPerMinute: Int? = nil, requestsPerDay: Int? = nil, tokensPerDay: Int? = nil, concurrentRequests: Int? = nil
  ) {
    self.requestsPerMinute = requestsPerMinute
    self.requestsPerDay = requestsPerDay
    self.tokensPerDay = tokensPerDay
    self.concurrentRequests = concurrentRequests
  }

  public static let none = AgentLimits()
  public var isNone: Bool { self == .none }

  /// Each limit with its option name and file member, in the order the file writes them.
  public static var members: [(option: String, member: StaticString, keyPath: WritableKeyPath<AgentLimits, Int?>)] {
    [
      ("rpm", "rpm", \.requestsPerMinute), ("requests-per-day", "rpd", \.requestsPerDay),
      ("tokens-per-day", "tpd", \.tokensPerDay), ("concurrent", "concurrent", \.concurrentRequests),
    ]
  }

  public static func isValid(_ value: Int) -> Bool { (1...maximumValue).contains(value) }

  /// The limits as one line of text, bound into grants: `rpm=60;rpd=-;tpd=-;concurrent=-`.
  var canonicalText: String {
    Self.members.map { "\($0.member.description)=\(self[keyPath: $0.keyPath].map(String.init) ?? "-")" }.joined(
      separator: ";")
  }

  /// For people: `rpm 60, 5000 requests/day` or `none`.
  public var summary: String {
    var parts: [String] = []
    if let value = requestsPerMinute { parts.append("\(value) requests/minute") }
    if let value = requestsPerDay { parts.append("\(value) requests/day") }
    if let value = tokensPerDay { parts.append("\(value) tokens/day") }
    if let value = concurrentRequests { parts.append("\(value) concurrent") }
    return parts.isEmpty ? "none" : parts.joined(separator: ", ")
  }
}

/// The owner's override of where a provider's API lives (`vault config set
/// provider.P.base-url URL`), for Azure, proxies and local servers. Bound into the grants of
/// every key of that provider, so editing the file cannot send a key elsewhere.
public struct ProviderEndpoint: Equatable, Sendable {
  public var provider: String
  /// `https://host[:port][/path]`, or `http://` to a loopback host only; no trailing `/`.
  public var baseURL: String

  public init(provider: String, baseURL: String) {
    self.provider = provider
    self.baseURL = baseURL
  }
}
