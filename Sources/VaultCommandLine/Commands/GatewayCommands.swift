import VaultCore
import VaultCrypto
import VaultGateway

#if canImport(Glibc)
  import Glibc
#endif

enum ServeCommand: Command {
  static let defaultListen = "127.0.0.1:8642"
  /// The gateway's upstream connections are TLS: OpenSSL starts with its error strings and
  /// legacy digest names (X.509 signature checks find their digest by legacy name).
  static let usesTLS = true

  static let spec = CommandSpec(
    name: "serve",
    summary: "Run the local gateway: agents present agent keys, the gateway uses the provider keys.",
    options: [
      .init(name: "listen", value: "<host:port>", help: "A loopback address to serve on (default: 127.0.0.1:8642)."),
      .init(name: "socket", value: "<path>", help: "Serve on this unix socket (mode 0600) instead of TCP."),
      .init(name: "log-format", value: "<format>", help: "text (default) or json: one line per request."),
      .init(
        name: "log-file", value: "<path>", help: "Append the log here instead of standard error; SIGHUP reopens it."),
    ],
    discussion: """
      Needs no passphrase: each request's agent key opens its own slot, as 'vault run' does.
      http://127.0.0.1:8642/<provider>/... stands for that provider's API (/openai/chat/completions,
      /anthropic/v1/messages, ...); /v1/... picks the provider from the request's model. The agent
      key goes where the provider's SDK sends its API key. SIGTERM drains requests in flight
      (up to 30 s) and exits 0. See docs/GATEWAY.md.
      """)

  static func run(_ context: Context) throws {
    let arguments = context.arguments
    let listen: Gateway.Listen
    if let socket = arguments.value("socket") {
      guard arguments.value("listen") == nil else { throw VaultError.usage("give --listen or --socket, not both") }
      listen = .unix(path: socket)
    } else {
      listen = try parseListen(arguments.value("listen") ?? defaultListen)
    }
    let format: RequestLog.Format
    switch arguments.value("log-format") ?? "text" {
    case "text": format = .text
    case "json": format = .json
    case let other: throw VaultError.invalidInput("unknown log format '\(other)': use text or json")
    }
    let options = Gateway.Options(
      vaultPath: context.location.path, listen: listen, logFormat: format, logPath: arguments.value("log-file"),
      environment: context.environment)
    let gateway: Gateway
    do {
      gateway = try Gateway(options: options)
    } catch let error as SocketError {
      throw VaultError.io(error.message)
    }
    try gateway.run()
  }

  /// `HOST:PORT` or `[::1]:PORT`; loopback only.
  static func parseListen(_ text: String) throws -> Gateway.Listen {
    var host: Substring
    var port: Substring
    if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
      host = text[text.index(after: text.startIndex)..<close]
      let rest = text[text.index(after: close)...]
      guard rest.hasPrefix(":") else { throw VaultError.invalidInput("--listen takes HOST:PORT, e.g. 127.0.0.1:8642") }
      port = rest.dropFirst()
    } else if let colon = text.lastIndex(of: ":") {
      host = text[..<colon]
      port = text[text.index(after: colon)...]
    } else {
      throw VaultError.invalidInput("--listen takes HOST:PORT, e.g. 127.0.0.1:8642")
    }
    if host == "localhost" { host = "127.0.0.1" }
    guard let number = Int(port), (0...65_535).contains(number) else {
      throw VaultError.invalidInput("--listen: '\(port)' is not a port")
    }
    let loopback =
      host == "::1"
      || (host.split(separator: ".", omittingEmptySubsequences: false).count == 4 && host.hasPrefix("127.")
        && host.split(separator: ".").allSatisfy { UInt8($0) != nil })
    guard loopback else {
      throw VaultError.invalidInput(
        "refusing to serve on \(host): the gateway listens on loopback only (127.0.0.0/8, ::1) or a unix socket")
    }
    return .tcp(host: String(host), port: number)
  }
}

enum GatewayStatusCommand: Command {
  static let spec = CommandSpec(
    name: "gateway status",
    summary: "Whether a gateway serves this vault: since when, requests, errors, sessions.",
    options: [.init(name: "json", help: "Print JSON for scripts.")])

  static func run(_ context: Context) throws {
    let json: String
    do {
      json = try ControlProtocol.status(controlPath: Gateway.controlSocketPath(forVault: context.location.path))
    } catch {
      throw VaultError.io("no gateway is serving this vault; start one with 'vault serve'")
    }
    if context.arguments.flag("json") {
      Console.out(json + "\n")
      return
    }
    guard case .object(let object) = try JSONParser.parse(Array(json.utf8)) else {
      throw VaultError.io("the gateway's status is malformed")
    }
    func text(_ name: String) -> String {
      switch object[name] {
      case .string(let value)?: return value
      case .integer(let value)?: return String(value)
      default: return "-"
      }
    }
    Console.out(
      "Gateway:     up, serving \(text("listen")) (pid \(text("pid")))\nSince:       \(text("since"))\n"
        + "Requests:    \(text("requests")) (\(text("errors")) errors)\nConnections: \(text("connections")) "
        + "(\(text("inFlight")) requests in flight)\nSessions:    \(text("sessions"))\n")
  }
}

enum AgentKeyLimitCommand: Command {
  static let spec = CommandSpec(
    name: "agent-key limit",
    summary: "Set an agent key's gateway limits (requests per minute or day, tokens per day, concurrency).",
    arguments: [.init(name: "name", help: "The agent key's name.")],
    options: GatewayLimitOptions.options,
    discussion: """
      Each limit takes a number, or 'none' to clear it. Limits are bound into the agent key's
      grants: editing them in the file makes the key stop working rather than raising them.
        vault agent-key limit support-bot --rpm 120 --tokens-per-day none
      """)

  static func run(_ context: Context) throws {
    let name = context.arguments.positionals[0]
    try Names.validateAgentName(name)
    guard GatewayLimitOptions.given(context.arguments) else {
      throw VaultError.usage("give at least one of --rpm, --requests-per-day, --tokens-per-day, --concurrent")
    }
    let limits = try context.store.update(credential: context.credential) { document, keyring -> AgentLimits in
      let agent = try document.agent(named: name)
      let limits = try GatewayLimitOptions.apply(context.arguments, to: agent.limits)
      try document.setAgentLimits(name, limits, keyring: keyring, now: .now())
      return limits
    }
    Console.err("vault: agent key \(name) limits: \(limits.summary)\n")
  }
}

/// `--rpm`, `--requests-per-day`, `--tokens-per-day`, `--concurrent`: for `agent-key create`
/// and `agent-key limit`.
enum GatewayLimitOptions {
  static let options: [CommandSpec.Option] = [
    .init(name: "rpm", value: "<n|none>", help: "Gateway requests per minute."),
    .init(name: "requests-per-day", value: "<n|none>", help: "Gateway requests per UTC day."),
    .init(name: "tokens-per-day", value: "<n|none>", help: "Tokens (in + out, as providers report them) per UTC day."),
    .init(name: "concurrent", value: "<n|none>", help: "Gateway requests in flight at once."),
  ]

  static func given(_ arguments: ParsedArguments) -> Bool {
    AgentLimits.members.contains { arguments.value($0.option) != nil }
  }

  static func apply(_ arguments: ParsedArguments, to limits: AgentLimits) throws -> AgentLimits {
    var limits = limits
    for member in AgentLimits.members {
      guard let text = arguments.value(member.option) else { continue }
      if text == "none" {
        limits[keyPath: member.keyPath] = nil
        continue
      }
      guard text.allSatisfy(\.isNumber), let value = Int(text), AgentLimits.isValid(value) else {
        throw VaultError.invalidInput("--\(member.option) takes a whole number from 1 to 10^12, or none")
      }
      limits[keyPath: member.keyPath] = value
    }
    return limits
  }
}

/// `vault run --gateway` and `vault env --gateway`: a session with the running gateway instead
/// of provider keys. The child gets each provider's base-URL variables pointing at the gateway
/// and the session token as its key: nothing it could decrypt the vault with.
enum GatewaySession {
  static let options: [CommandSpec.Option] = [
    .init(name: "gateway", help: "Give the program a gateway session instead of provider keys (needs 'vault serve')."),
    .init(name: "gateway-url", value: "<url>", help: "The gateway's address as the program should reach it."),
  ]

  static func wanted(_ arguments: ParsedArguments) -> Bool {
    arguments.flag("gateway") || arguments.value("gateway-url") != nil
  }

  /// Opens the session; the variables to set (name, value), sorted. The session lasts as long as
  /// the returned value.
  /// `detached` (for `vault env`): the session outlives this process, until the agent key
  /// expires or is revoked or the gateway restarts.
  static func open(_ context: Context, detached: Bool = false) throws -> (
    session: ControlProtocol.Session, variables: [(String, SecretBytes)]
  ) {
    guard SecretsForRun.usesAgentKey(context) else {
      throw VaultError.usage("--gateway needs an agent key: set VAULT_AGENT_KEY or pass --agent-key-file")
    }
    let token = try context.agentToken()
    let controlPath = Gateway.controlSocketPath(forVault: context.location.path)
    let session: ControlProtocol.Session
    do {
      session = try ControlProtocol.openSession(controlPath: controlPath, token: token.text, detached: detached)
    } catch .noGateway {
      throw VaultError.io("no gateway is serving this vault; start one with 'vault serve'")
    } catch .refused(let status, let message) {
      switch status {
      case 401: throw VaultError.accessNotPermitted(Self.reason(message))
      case 403: throw VaultError.permissionDenied(message)
      default: throw VaultError.io("the gateway refused the session: \(message)")
      }
    }
    var base = context.arguments.value("gateway-url") ?? session.baseURL
    while base.hasSuffix("/") { base.removeLast() }
    guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
      throw VaultError.usage("the gateway serves a unix socket; give --gateway-url with the address the program uses")
    }
    var variables: [String: SecretBytes] = [:]
    for provider in session.providers {
      let gatewayProvider = GatewayProviders.provider(id: provider)
      for variable in gatewayProvider.baseURLVariables {
        variables[variable.name] = SecretBytes(copying: Array("\(base)/\(provider)\(variable.suffix)".utf8))
      }
      for name in ProviderCatalogue.provider(id: provider)?.variables ?? [] { variables[name] = session.token }
    }
    return (session, variables.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
  }

  /// The gateway's 401 messages carry the reason; the exit code is 11 whichever it is.
  private static func reason(_ message: String) -> AgentAccessError {
    if message.contains("revoked") { return .revoked(on: .now()) }
    if message.contains("expired") { return .expired(on: .now()) }
    return message.contains("malformed") ? .malformed : .unknown
  }

  /// Runs `command` with the session's variables, supervised so the session ends when it exits.
  static func run(_ context: Context, command: [String]) throws -> Never {
    let (session, variables) = try open(context)
    let options = ChildEnvironment.Options(clean: context.arguments.flag("clean-env"), keepInherited: false)
    // The session's variables replace any inherited variable of the same name.
    let (environment, _) = ChildEnvironment.build(
      inherited: context.environment, variables: variables.map { (name: $0.0, value: $0.1) }, options: options)
    let childPath = options.clean || context.environment["PATH"] != nil ? context.environment["PATH"] : nil
    let executable = try ChildProcess.resolve(command[0], path: childPath)
    let code = try ChildProcess.supervise(executable, arguments: command, environment: environment, secrets: [])
    session.close()
    throw ChildExit(code: code)
  }
}
