/// What `vault run` tells the user about the token it was given, and records its use under:
/// the agent's id and name, when the token stops working, and when the agent's other token
/// (the new one, after a rotation with a grace period) expires.
public struct TokenTerms: Equatable, Sendable {
  public var agentID: String
  public var agentName: String
  public var notAfter: Timestamp
  /// The end of a grace period after `rotate --grace`, if this is the old token.
  public var retireAt: Timestamp?
  /// The expiry of the agent's other token, if it has one.
  public var successorNotAfter: Timestamp?

  public init(
    agentID: String, agentName: String, notAfter: Timestamp, retireAt: Timestamp?, successorNotAfter: Timestamp?
  ) {
    self.agentID = agentID
    self.agentName = agentName
    self.notAfter = notAfter
    self.retireAt = retireAt
    self.successorNotAfter = successorNotAfter
  }

  /// The terms of `credential`, one of `agent`'s tokens.
  public init(agent: AgentKey, credential: AgentCredential) {
    self.init(
      agentID: agent.id, agentName: agent.name, notAfter: credential.notAfter, retireAt: credential.retireAt,
      successorNotAfter: agent.credentials.first { $0.id != credential.id }?.notAfter)
  }

  /// When this token stops working: its expiry, or the end of its grace period.
  public var effectiveExpiry: Timestamp { retireAt.map { min($0, notAfter) } ?? notAfter }
}
