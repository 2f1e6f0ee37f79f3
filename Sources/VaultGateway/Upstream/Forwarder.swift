import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// Sends an authorized request to its provider with the provider key in the auth header, and
/// relays the response to the agent as it arrives: every chunk of an SSE stream reaches the
/// agent when the provider sends it. Never buffers a whole response.
struct Forwarder {
  let pool: UpstreamPool

  /// What a forwarded request came to, for usage, limits and the log.
  struct Outcome {
    var status: Int
    var tokensIn: Int64
    var tokensOut: Int64
    /// The agent's connection can carry another request.
    var clientReusable: Bool
  }

  /// Forwards `request`; writes the response (or a 502/504 in the provider's error shape if
  /// nothing was relayed yet) to `client`.
  func forward(_ request: AuthorizedRequest, secret: SecretBytes, client: ClientConnection) -> Outcome {
    // A small body travels in the head's buffer: one write, one TLS record.
    let inline = request.authenticated.parsed.body.count <= 64 << 10
    var head = upstreamHead(request, secret: secret, inlineBody: inline)
    defer { head.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
    let body = inline ? [] : request.authenticated.parsed.body
    // A pooled connection the provider closed meanwhile fails before any response byte: then
    // the request never reached it, and one retry on a fresh connection is safe.
    var attempt = 0
    while true {
      attempt += 1
      let reused = attempt == 1 ? pool.reuse(request.endpoint) : nil
      let connection: UpstreamConnection
      if let reused {
        connection = reused
      } else {
        do {
          connection = try pool.connect(request.endpoint)
        } catch {
          return refuse(error, request, client)
        }
      }
      guard connection.write(head), body.isEmpty || connection.write(body) else {
        connection.close()
        if reused != nil && attempt == 1 { continue }
        return refuse(
          GatewayError(kind: .badGateway, message: "the provider closed the connection"), request, client)
      }
      var relay = ResponseRelay(
        connection: connection, client: client, request: request, secret: secret,
        clientMinorVersion: request.authenticated.parsed.head.minorVersion)
      switch relay.run() {
      case .nothingReceived where reused != nil && attempt == 1:
        connection.close()
        continue
      case .nothingReceived:
        connection.close()
        return refuse(
          GatewayError(kind: .badGateway, message: "the provider sent no response"), request, client)
      case .badResponse(let reason):
        connection.close()
        return refuse(
          GatewayError(kind: .badGateway, message: "the provider's response is malformed: \(reason)"), request, client)
      case .relayed(let outcome, let upstreamReusable):
        if upstreamReusable { pool.release(connection) } else { connection.close() }
        return outcome
      }
    }
  }

  private func refuse(_ error: GatewayError, _ request: AuthorizedRequest, _ client: ClientConnection) -> Outcome {
    let keepAlive = request.authenticated.parsed.head.keepAlive
    let written = client.write(ErrorResponse.bytes(error, shape: request.provider.errors, keepAlive: keepAlive))
    return Outcome(status: error.status, tokensIn: 0, tokensOut: 0, clientReusable: written && keepAlive)
  }

  /// The request line and headers for the provider: end-to-end headers as the agent sent them,
  /// less hop-by-hop ones and every credential header, plus `Host`, the provider key in the
  /// provider's auth header, and the body's length. Holds the key: wiped by the caller.
  private func upstreamHead(_ request: AuthorizedRequest, secret: SecretBytes, inlineBody: Bool) -> [UInt8] {
    let parsed = request.authenticated.parsed
    let connectionTokens = HopByHop.connectionTokens(parsed.head.headers)
    var bytes: [UInt8] = []
    // Room for everything up front: a reallocation after the key is in would leave a copy of it
    // in freed memory that the caller's wipe cannot reach.
    let headerBytes = parsed.head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
    bytes.reserveCapacity(
      512 + parsed.head.target.utf8.count + request.upstreamTarget.utf8.count + headerBytes + secret.count
        + (inlineBody ? parsed.body.count : 0))
    func append(_ text: String) { bytes.append(contentsOf: text.utf8) }
    append("\(parsed.head.method) \(request.upstreamTarget) HTTP/1.1\r\nHost: \(request.endpoint.hostHeader)\r\n")
    for header in parsed.head.headers {
      let name = header.name.lowercased()
      if HopByHop.isHopByHop(name, connectionTokens: connectionTokens) || Self.replaced.contains(name)
        || PresentedCredential.headerNames.contains(name)
      {
        continue
      }
      append("\(header.name): \(header.value)\r\n")
    }
    // Identity: the relay reads usage from the body and masks an echoed key, which it cannot
    // do in a compressed one.
    append("Accept-Encoding: identity\r\n")
    if !parsed.body.isEmpty || ["POST", "PUT", "PATCH"].contains(parsed.head.method) {
      append("Content-Length: \(parsed.body.count)\r\n")
    }
    switch request.provider.auth {
    case .bearer: append("Authorization: Bearer ")
    case .xAPIKey: append("x-api-key: ")
    case .googAPIKey: append("x-goog-api-key: ")
    case .azureAPIKey: append("api-key: ")
    }
    secret.withUnsafeBytes { bytes.append(contentsOf: $0) }
    append("\r\n\r\n")
    if inlineBody { bytes += parsed.body }
    return bytes
  }

  /// Headers the gateway sets itself.
  private static let replaced: Set<String> = ["host", "content-length", "accept-encoding", "expect"]
}

/// A response the gateway writes itself.
enum ErrorResponse {
  static func bytes(_ error: GatewayError, shape: GatewayProvider.ErrorShape, keepAlive: Bool) -> [UInt8] {
    let body = error.body(shape)
    var head = "HTTP/1.1 \(error.status) \(reason(error.status))\r\n"
    head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
    if let retryAfter = error.retryAfter { head += "Retry-After: \(retryAfter)\r\n" }
    head += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
    return Array(head.utf8) + body
  }

  static func reason(_ status: Int) -> String {
    switch status {
    case 400: return "Bad Request"
    case 401: return "Unauthorized"
    case 403: return "Forbidden"
    case 404: return "Not Found"
    case 408: return "Request Timeout"
    case 413: return "Content Too Large"
    case 417: return "Expectation Failed"
    case 429: return "Too Many Requests"
    case 431: return "Request Header Fields Too Large"
    case 500: return "Internal Server Error"
    case 501: return "Not Implemented"
    case 502: return "Bad Gateway"
    case 503: return "Service Unavailable"
    case 504: return "Gateway Timeout"
    case 505: return "HTTP Version Not Supported"
    default: return "Error"
    }
  }
}
