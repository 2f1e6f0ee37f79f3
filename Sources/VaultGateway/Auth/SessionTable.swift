import VaultCore
import VaultCrypto

/// The session tokens of `vault run --gateway`, in this process's memory only: each maps to the
/// agent key that opened it. A session ends when its control connection closes (the run is
/// over), when the gateway restarts, and, because every request re-checks the agent key, when
/// that key expires or is revoked.
final class SessionTable: Sendable {
  struct Session: Sendable {
    var agentToken: SecretBytes
    var agentName: String
    var opened: Timestamp
  }

  /// By SHA-256 of the session token's text.
  private let sessions = Lock<[[UInt8]: Session]>([:])

  /// A fresh session token for `agentToken`, already checked by the caller. Its text is
  /// returned once and kept only as a hash.
  func open(agentToken: SecretBytes, agentName: String, now: Timestamp) throws -> AgentToken {
    let token = try AgentToken.generate(prefix: AgentToken.sessionPrefix)
    let key = token.text.withUnsafeBytes { SHA256.hash($0) }
    sessions.withLock { $0[key] = Session(agentToken: agentToken, agentName: agentName, opened: now) }
    return token
  }

  func close(_ token: AgentToken) {
    let key = token.text.withUnsafeBytes { SHA256.hash($0) }
    _ = sessions.withLock { $0.removeValue(forKey: key) }
  }

  /// The session of a presented token, after its checksum (a mistyped token is refused before
  /// any look-up).
  func lookup(_ text: [UInt8]) -> Session? {
    guard (try? AgentToken.parse(text, prefix: AgentToken.sessionPrefix)) != nil else { return nil }
    let key = SHA256.hash(text)
    return sessions.withLock { $0[key] }
  }

  var count: Int { sessions.withLock { $0.count } }
}
