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

  /// Each limit with its option name and file member, in the order the file writes them. The
  /// key paths go through `subscript(member:)`, the one place that pairs a position with a field.
  public static var members: [(option: String, member: StaticString, keyPath: WritableKeyPath<AgentLimits, Int?>)] {
    let options = ["rpm", "requests-per-day", "tokens-per-day", "concurrent"]
    return (0..<memberCount).map { (options[$0], memberName($0), \AgentLimits.[member: $0]) }
  }

  /// How many limits there are; `memberName(_:)` and `subscript(member:)` take 0 up to it, in
  /// `members` order. What reading an agent's line and its grants' binding use: `members`' key
  /// paths cost every `vault run` about 150,000 instructions of run-time metadata at first use.
  static let memberCount = 4

  /// The file member of the limit at `index` in `members` order.
  static func memberName(_ index: Int) -> StaticString {
    switch index {
    case 0: "rpm"
    case 1: "rpd"
    case 2: "tpd"
    default: "concurrent"
    }
  }

  /// The limit at `index` in `members` order.
  subscript(member index: Int) -> Int? {
    get {
      switch index {
      case 0: requestsPerMinute
      case 1: requestsPerDay
      case 2: tokensPerDay
      default: concurrentRequests
      }
    }
    set {
      switch index {
      case 0: requestsPerMinute = newValue
      case 1: requestsPerDay = newValue
      case 2: tokensPerDay = newValue
      default: concurrentRequests = newValue
      }
    }
  }

  public static func isValid(_ value: Int) -> Bool { (1...maximumValue).contains(value) }

  /// The limits as one line of text, bound into grants: `rpm=60;rpd=-;tpd=-;concurrent=-`.
  var canonicalText: String {
    var text = ""
    for index in 0..<Self.memberCount {
      if index > 0 { text += ";" }
      text += Self.memberName(index).description
      text += "="
      text += self[member: index].map { String($0) } ?? "-"
    }
    return text
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
