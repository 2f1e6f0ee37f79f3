import VaultCore
import VaultTLS

/// Keep-alive connections per upstream (scheme, host, port), so a request to a provider does
/// not pay a TCP and TLS handshake each time. A connection is in the pool only while idle.
final class UpstreamPool: Sendable {
  /// Idle connections kept per upstream, and how long one may sit idle (providers close
  /// theirs after about a minute; reusing one they closed costs a retry).
  static let maximumIdlePerUpstream = 64
  static let maximumIdleSeconds = 30.0

  private final class Idle: @unchecked Sendable {
    var connections: [String: [UpstreamConnection]] = [:]
  }

  let tls: TLSClientContext
  let timeout: Int
  private let idle = Lock(Idle())

  init(tls: TLSClientContext, timeout: Int) {
    self.tls = tls
    self.timeout = timeout
  }

  /// An idle connection to `endpoint` that still looks usable, or nil.
  func reuse(_ endpoint: EndpointURL) -> UpstreamConnection? {
    let key = UpstreamConnection.poolKey(endpoint)
    let now = Threads.monotonicSeconds()
    while let connection = idle.withLock({ $0.connections[key]?.popLast() }) {
      if now - connection.idleSince < Self.maximumIdleSeconds, connection.isReusable { return connection }
      connection.close()
    }
    return nil
  }

  /// A new connection to `endpoint`.
  func connect(_ endpoint: EndpointURL) throws(GatewayError) -> UpstreamConnection {
    try UpstreamConnection(endpoint: endpoint, tls: tls, timeout: timeout)
  }

  /// Gives back a connection whose response was read to its end.
  func release(_ connection: UpstreamConnection) {
    guard connection.isOpen else { return }
    connection.idleSince = Threads.monotonicSeconds()
    let kept = idle.withLock { idle -> Bool in
      // Appended in place: a copy of the list under the lock would lengthen every request's wait.
      guard idle.connections[connection.poolKey, default: []].count < Self.maximumIdlePerUpstream else { return false }
      idle.connections[connection.poolKey, default: []].append(connection)
      return true
    }
    if !kept { connection.close() }
  }

  /// Closes every idle connection (at shutdown).
  func closeAll() {
    let all = idle.withLock { idle -> [UpstreamConnection] in
      defer { idle.connections = [:] }
      return idle.connections.values.flatMap { $0 }
    }
    for connection in all { connection.close() }
  }
}
