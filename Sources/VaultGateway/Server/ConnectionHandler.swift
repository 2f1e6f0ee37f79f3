import VaultCore

/// Serves one agent connection: request after request while it keeps the connection alive.
/// Each request goes parse -> authenticate -> authorize -> limit -> forward -> count, each step
/// its own type (RequestPipeline.swift), so none can be skipped.
struct ConnectionHandler {
  let gateway: Gateway
  let client: ClientConnection

  /// Request bodies up to 32 MiB (images).
  static let limits = HTTPLimits()

  func run() {
    defer { client.close() }
    while true {
      let head: HTTPRequestHead
      do {
        switch try client.readHead(limits: Self.limits, shouldStop: { gateway.isDraining }) {
        case .head(let parsed): head = parsed
        case .closed: return
        case .timedOut:
          client.write(
            ErrorResponse.bytes(
              GatewayError(kind: .badRequest, message: "the request head did not arrive in time"), shape: .openAI,
              keepAlive: false))
          return
        }
      } catch {
        let parseError = error as? HTTPParseError ?? HTTPParseError(status: 400, reason: "unreadable")
        client.write(ErrorResponse.bytes(GatewayError(parseError, what: "request"), shape: .openAI, keepAlive: false))
        return
      }
      gateway.beginRequest()
      let keepGoing = serve(head)
      gateway.endRequest()
      if !keepGoing || gateway.isDraining { return }
    }
  }

  /// One request; whether the connection may carry another. The token is checked before the
  /// body is read, so a client without a valid key cannot make the gateway hold a body.
  private func serve(_ head: HTTPRequestHead) -> Bool {
    let began = Threads.monotonicSeconds()
    let now = Timestamp.now()
    var entry = RequestLog.Entry(
      agent: nil, provider: nil, model: nil, key: nil, method: head.method, status: 0, milliseconds: 0, tokensIn: 0,
      tokensOut: 0)
    var shape = GatewayProvider.ErrorShape.openAI
    var agentForUsage: AgentKey? = nil
    var admitted: AgentKey? = nil
    // A body left unread leaves the connection mid-message: it can only be closed.
    var bodyPending = head.framing != .none
    var outcome: Forwarder.Outcome
    do throws(GatewayError) {
      var parsed = try ParsedRequest(head: head)
      shape = parsed.errorShape
      if case .provider(let id, _) = parsed.route { entry.provider = id }
      guard let credential = PresentedCredential.find(in: head) else {
        throw GatewayError.unauthorized(
          "access not permitted: no agent key; send it where the provider's SDK sends its API key")
      }
      let agent = try gateway.authenticator.authenticate(credential.text, now: now)
      entry.agent = agent.agent.name
      agentForUsage = agent.agent
      if head.expectsContinue { client.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
      do {
        try parsed.receive(body: try client.readBody(head.framing, limit: Self.limits.maxBodyBytes))
        bodyPending = false
      } catch let error as HTTPParseError {
        throw GatewayError(error, what: "request body")
      } catch let error as GatewayError {
        bodyPending = false
        throw error
      } catch {
        throw GatewayError(kind: .badRequest, message: "the request body cannot be read")
      }
      entry.model = parsed.model
      let authorized = try AuthenticatedRequest(parsed: parsed, agent: agent).authorize()
      shape = authorized.provider.errors
      entry.provider = authorized.provider.id
      entry.key = authorized.key.name
      try gateway.limiter.admit(agent.agent, now: now, monotonic: Threads.monotonicSeconds())
      admitted = agent.agent
      let secret: SecretBytes
      do {
        secret = try agent.value(of: authorized.key)
      } catch {
        throw GatewayError(error as? VaultError ?? .io("open"))
      }
      outcome = Forwarder(pool: gateway.pool).forward(authorized, secret: secret, client: client)
      gateway.usage.record(
        agentID: agent.agent.id, keyID: authorized.key.id, status: outcome.status, tokensIn: outcome.tokensIn,
        tokensOut: outcome.tokensOut, now: Timestamp.now())
    } catch {
      // A small body of a refused request is read and dropped so the connection lives on;
      // a large one is not worth reading for a client the gateway has refused.
      if bodyPending, error.exactStatus == nil, !head.expectsContinue,
        client.discardBody(head.framing, limit: 1 << 20, seconds: ClientConnection.headSeconds)
      {
        bodyPending = false
      }
      let keepAlive = head.keepAlive && !bodyPending
      let written = client.write(ErrorResponse.bytes(error, shape: shape, keepAlive: keepAlive))
      outcome = Forwarder.Outcome(status: error.status, tokensIn: 0, tokensOut: 0, clientReusable: written && keepAlive)
      gateway.usage.record(
        agentID: agentForUsage?.id, keyID: nil, status: error.status, tokensIn: 0, tokensOut: 0, now: now)
    }
    if let admitted { gateway.limiter.finish(admitted, tokens: outcome.tokensIn + outcome.tokensOut) }
    entry.status = outcome.status
    entry.tokensIn = outcome.tokensIn
    entry.tokensOut = outcome.tokensOut
    entry.milliseconds = (Threads.monotonicSeconds() - began) * 1_000
    gateway.log.write(entry)
    return outcome.clientReusable
  }

}
