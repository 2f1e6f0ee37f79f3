import VaultCore
import VaultCrypto
import VaultTLS

#if canImport(Glibc)
  import Glibc
#endif

/// `vault serve`: a loopback HTTP/1.1 gateway in front of the providers. An agent presents its
/// agent key (or a session token); the gateway opens that key's own slot, checks scope and
/// limits, and forwards the request with the provider key, which the agent never holds.
public final class Gateway: Sendable {
  public enum Listen: Sendable, Equatable {
    case tcp(host: String, port: Int)
    case unix(path: String)
  }

  public struct Options: Sendable {
    public var vaultPath: String
    public var listen: Listen
    public var logFormat: RequestLog.Format
    public var logPath: String?
    public var environment: [String: String]
    /// Seconds for upstream connects and for each upstream read (a model may think a while).
    public var upstreamTimeout = 300
    /// How long SIGTERM waits for requests in flight.
    public var drainSeconds = 30.0
    /// Connections served at once; more are answered 503 and closed.
    public var maximumConnections = 4_096

    public init(
      vaultPath: String, listen: Listen, logFormat: RequestLog.Format, logPath: String?, environment: [String: String]
    ) {
      self.vaultPath = vaultPath
      self.listen = listen
      self.logFormat = logFormat
      self.logPath = logPath
      self.environment = environment
    }
  }

  let options: Options
  let authenticator: AgentAuthenticator
  let limiter: RateLimiter
  let usage: UsageRecorder
  let log: RequestLog
  let pool: UpstreamPool
  let started = Timestamp.now()
  private let listener: Int32
  /// The address agents use, e.g. `http://127.0.0.1:8642`.
  public let baseURL: String
  private let state = Lock((connections: 0, inFlight: 0, draining: false))

  public init(options: Options) throws {
    self.options = options
    let vaultPath = VaultStore(path: options.vaultPath).targetPath
    _ = try VaultFile.read(vaultPath)
    authenticator = AgentAuthenticator(vaultPath: vaultPath)
    limiter = RateLimiter(baseline: UsageState.read(forVault: vaultPath))
    usage = UsageRecorder(vaultPath: vaultPath)
    log = try RequestLog(format: options.logFormat, path: options.logPath)
    // libssl starts OpenSSL's default context here; the vault's own context starts first, and
    // before any worker thread exists (`OpenSSLStartup.startProvidersInOrder`).
    OpenSSLStartup.startProvidersInOrder()
    do {
      pool = UpstreamPool(
        tls: try TLSClientContext.fromEnvironment(options.environment), timeout: options.upstreamTimeout)
    } catch {
      throw SocketError(message: "TLS set-up failed: \(error.message)")
    }
    switch options.listen {
    case .tcp(let host, let port):
      guard Self.isLoopback(host) else {
        throw SocketError(message: "refusing to listen on \(host): the gateway serves loopback only (127.0.0.0/8, ::1)")
      }
      listener = try Sockets.listenTCP(host: host, port: port)
      let name = host.contains(":") ? "[\(host)]" : host
      baseURL = "http://\(name):\(Sockets.localPort(listener))"
    case .unix(let path):
      listener = try Sockets.listenUnix(path: path)
      baseURL = "unix:\(path)"
    }
  }

  static func isLoopback(_ host: String) -> Bool {
    if host == "::1" { return true }
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
  }

  /// The control socket beside the vault (`vault run --gateway`, `vault gateway status`).
  public static func controlSocketPath(forVault vaultPath: String) -> String {
    VaultStore(path: vaultPath).targetPath + ".gateway.sock"
  }

  /// Serves until SIGTERM or SIGINT, then drains requests in flight (up to `drainSeconds`),
  /// writes the last usage batch and returns. SIGHUP reopens the log file.
  public func run() throws {
    var signals = sigset_t()
    sigemptyset(&signals)
    for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
    // Blocked in every thread (they inherit the mask) and taken by sigwait below.
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    signal(SIGPIPE, SIG_IGN)

    let control = try ControlServer(
      path: Self.controlSocketPath(forVault: options.vaultPath), gateway: self)
    control.start()
    log.note("serving \(baseURL) for \(authenticator.vaultPath); control socket \(control.path)")

    Threads.detach { [self] in acceptLoop() }
    Threads.detach { [self] in
      while !isDraining {
        Threads.sleep(milliseconds: 1_000)
        if let warning = usage.flush() { log.note(warning) }
      }
    }
    while true {
      var received: Int32 = 0
      sigwait(&signals, &received)
      if received == SIGHUP {
        log.reopen()
        continue
      }
      break
    }
    log.note("stopping: draining requests in flight (up to \(Int(options.drainSeconds)) s)")
    state.withLock { $0.draining = true }
    Sockets.shutdownBoth(listener)
    control.stop()
    let deadline = Threads.monotonicSeconds() + options.drainSeconds
    while state.withLock({ $0.inFlight }) > 0 && Threads.monotonicSeconds() < deadline {
      Threads.sleep(milliseconds: 50)
    }
    if let warning = usage.flush() { log.note(warning) }
    pool.closeAll()
    if case .unix(let path) = options.listen { unlink(path) }
    log.note("stopped")
  }

  var isDraining: Bool { state.withLock { $0.draining } }

  /// Requests served, errors, connections and sessions now, for `vault gateway status`.
  var status: (requests: Int64, errors: Int64, connections: Int, inFlight: Int, sessions: Int) {
    let counts = usage.counts
    let now = state.withLock { ($0.connections, $0.inFlight) }
    return (counts.requests, counts.errors, now.0, now.1, authenticator.sessions.count)
  }

  private func acceptLoop() {
    while !isDraining {
      guard let descriptor = Sockets.accept(listener) else {
        if isDraining { return }
        Threads.sleep(milliseconds: 10)
        continue
      }
      let admitted = state.withLock { state -> Bool in
        guard state.connections < options.maximumConnections, !state.draining else { return false }
        state.connections += 1
        return true
      }
      guard admitted else {
        let refusal = ErrorResponse.bytes(
          GatewayError(kind: .unavailable, message: "the gateway is at its connection limit"), shape: .openAI,
          keepAlive: false)
        refusal.withUnsafeBytes { _ = Sockets.writeAll(descriptor, $0) }
        Sockets.close(descriptor)
        continue
      }
      let started = Threads.detach { [self] in
        ConnectionHandler(gateway: self, client: ClientConnection(descriptor: descriptor)).run()
        state.withLock { $0.connections -= 1 }
      }
      if !started {
        state.withLock { $0.connections -= 1 }
        Sockets.close(descriptor)
      }
    }
  }

  func beginRequest() { state.withLock { $0.inFlight += 1 } }
  func endRequest() { state.withLock { $0.inFlight -= 1 } }
}
