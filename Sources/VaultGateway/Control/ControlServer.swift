import Synchronization
import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// The gateway's control socket beside the vault (`<vault>.gateway.sock`, mode 0600, peers of
/// this user only). One line per request (ControlProtocol.swift):
/// - `open <agent key>`: checks the key as a request would and answers with a fresh session
///   token; the session lives exactly as long as this connection.
/// - `status`: the gateway's figures as JSON.
final class ControlServer: Sendable {
  let path: String
  private let listener: Int32
  private unowned let gateway: Gateway

  init(path: String, gateway: Gateway) throws(SocketError) {
    self.path = path
    self.gateway = gateway
    listener = try Sockets.listenUnix(path: path, backlog: 128)
  }

  func start() {
    Threads.detach { [self] in
      while let descriptor = Sockets.accept(listener) {
        guard Sockets.peerUID(descriptor) == getuid() else {
          Sockets.close(descriptor)
          continue
        }
        Threads.detach { [self] in serve(descriptor) }
      }
    }
  }

  func stop() {
    Sockets.shutdownBoth(listener)
    unlink(path)
  }

  private func serve(_ descriptor: Int32) {
    defer { Sockets.close(descriptor) }
    guard var line = ControlProtocol.readLine(descriptor, timeoutMilliseconds: 10_000) else { return }
    defer { line.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
    if line.elementsEqual("status".utf8) {
      ControlProtocol.writeLine(descriptor, "ok " + statusJSON())
      return
    }
    let detached = line.starts(with: "open-detached ".utf8)
    guard detached || line.starts(with: "open ".utf8) else {
      ControlProtocol.writeLine(descriptor, "error 400 unknown control request")
      return
    }
    let token = Array(line.dropFirst(detached ? 14 : 5))
    guard !token.starts(with: AgentToken.sessionPrefix.utf8) else {
      ControlProtocol.writeLine(descriptor, "error 401 access not permitted: a session opens with an agent key")
      return
    }
    let agent: OpenedAgent
    do {
      agent = try gateway.authenticator.authenticate(token, now: .now())
    } catch {
      ControlProtocol.writeLine(descriptor, "error \(error.status) \(error.message)")
      return
    }
    let session: AgentToken
    do {
      session = try gateway.authenticator.sessions.open(
        agentToken: SecretBytes(copying: token), agentName: agent.agent.name, now: .now())
    } catch {
      ControlProtocol.writeLine(descriptor, "error 500 cannot make a session token")
      return
    }
    var providers: [String] = []
    for key in agent.readableKeys {
      if let provider = key.provider, !providers.contains(provider) { providers.append(provider) }
    }
    var reply = Array("ok ".utf8)
    session.text.withUnsafeBytes { reply.append(contentsOf: $0) }
    reply.append(contentsOf: " \(gateway.baseURL) \(providers.isEmpty ? "-" : providers.joined(separator: ","))\n".utf8)
    defer { reply.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
    guard reply.withUnsafeBytes({ Sockets.writeAll(descriptor, $0) }) else {
      gateway.authenticator.sessions.close(session)
      return
    }
    gateway.log.note("\(detached ? "detached session" : "session") opened for agent key \(agent.agent.name)")
    // A detached session (`vault env --gateway`) lives until its agent key stops working or the
    // gateway restarts: every request through it re-checks the agent key.
    if detached { return }
    defer { gateway.authenticator.sessions.close(session) }
    // The session lives until the other end closes (its run is over) or the gateway stops.
    var byte: UInt8 = 0
    while !gateway.isDraining {
      guard Sockets.waitReadable(descriptor, milliseconds: 500) else { continue }
      if withUnsafeMutableBytes(of: &byte, { Sockets.read(descriptor, into: $0) }) <= 0 { break }
    }
    gateway.log.note("session closed for agent key \(agent.agent.name)")
  }

  private func statusJSON() -> String {
    let status = gateway.status
    var writer = JSONWriter()
    writer.raw("{\"listen\":")
    writer.string(gateway.baseURL)
    writer.raw(",\"since\":")
    writer.string(gateway.started.rfc3339)
    writer.raw(",\"pid\":")
    writer.integer(Int64(getpid()))
    writer.raw(",\"requests\":")
    writer.integer(status.requests)
    writer.raw(",\"errors\":")
    writer.integer(status.errors)
    writer.raw(",\"connections\":")
    writer.integer(Int64(status.connections))
    writer.raw(",\"inFlight\":")
    writer.integer(Int64(status.inFlight))
    writer.raw(",\"sessions\":")
    writer.integer(Int64(status.sessions))
    writer.raw("}")
    return String(decoding: writer.bytes, as: UTF8.self)
  }
}
