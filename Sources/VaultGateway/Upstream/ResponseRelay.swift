import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// Copies one upstream response to the agent as it arrives: the head with hop-by-hop headers
/// dropped, then the body re-framed as chunked (HTTP/1.1 agents) or close-delimited (1.0),
/// each piece written as soon as it is read. On the way it reads the token usage and masks the
/// provider key should the provider echo it.
struct ResponseRelay {
  enum Result {
    /// The upstream closed or failed before a single response byte.
    case nothingReceived
    case badResponse(String)
    case relayed(Forwarder.Outcome, upstreamReusable: Bool)
  }

  let connection: UpstreamConnection
  let client: ClientConnection
  let request: AuthorizedRequest
  let clientMinorVersion: Int
  private let secret: SecretBytes
  private var masker: OutputMasker
  private var usage = TokenUsageScanner()
  private var buffer = [UInt8](repeating: 0, count: 16_384)
  private var start = 0
  private var end = 0

  init(
    connection: UpstreamConnection, client: ClientConnection, request: AuthorizedRequest, secret: SecretBytes,
    clientMinorVersion: Int
  ) {
    self.connection = connection
    self.client = client
    self.request = request
    self.clientMinorVersion = clientMinorVersion
    self.secret = secret
    // The masker refers to the key where it is (locked memory), it copies nothing.
    masker = OutputMasker(secrets: [(secret, Array(request.key.masked.utf8))])
  }

  mutating func run() -> Result {
    var received = false
    var head: HTTPResponseHead
    // Skip interim 1xx responses (103 Early Hints); 101 is never asked for.
    while true {
      let parsed: (head: HTTPResponseHead, consumed: Int)?
      do {
        parsed = try buffer.withUnsafeBytes { bytes in
          try HTTPResponseParser.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), limits: HTTPLimits())
        }
      } catch let error as HTTPParseError {
        return .badResponse(error.reason)
      } catch {
        return .badResponse("unreadable head")
      }
      if let parsed {
        start += parsed.consumed
        head = parsed.head
        if (100..<200).contains(head.status) && head.status != 101 { continue }
        break
      }
      guard let count = fill(), count > 0 else {
        return received ? .badResponse("it ended inside its head") : .nothingReceived
      }
      received = true
    }
    if head.status == 101 { return .badResponse("it switched protocols") }
    // The request asked for identity: a compressed body could hide an echoed key from the
    // masker and its usage from the limits, so it is not relayed.
    if let coding = head.value(of: "content-encoding"), coding.lowercased() != "identity" {
      return .badResponse("it is compressed (\(coding)) although the gateway asked for identity")
    }
    let framing: ResponseBodyFraming
    do {
      framing = try HTTPResponseParser.framing(of: head, requestMethod: request.authenticated.parsed.head.method)
    } catch {
      return .badResponse(error.reason)
    }
    let clientKeepAlive = request.authenticated.parsed.head.keepAlive && clientMinorVersion >= 1
    let chunkedToClient = framing != .none && clientMinorVersion >= 1
    // What is ready for the agent goes out in one write just before the relay would wait on the
    // provider (or past 64 KiB): each event still reaches the agent as soon as it arrives, and a
    // whole small answer costs one write instead of four.
    var outgoing = responseHead(head, framing: framing, chunked: chunkedToClient, keepAlive: clientKeepAlive)
    var clientOpen = true
    var complete = false
    func flush() {
      guard clientOpen, !outgoing.isEmpty else { return }
      clientOpen = client.write(outgoing)
      outgoing.removeAll(keepingCapacity: true)
    }
    func send(_ data: [UInt8]) {
      guard clientOpen, !data.isEmpty else { return }
      if chunkedToClient {
        outgoing += ChunkedEncoder.chunkHeader(count: data.count)
        outgoing += data
        outgoing += [0x0D, 0x0A]
      } else {
        outgoing += data
      }
      if outgoing.count >= 64 << 10 { flush() }
    }
    /// More from the provider, after handing the agent what it has.

    func relay(_ piece: UnsafeRawBufferPointer) {
      usage.feed(piece)
      send(masker.feed(piece))
    }
    switch framing {
    case .none:
      complete = true
    case .contentLength(var remaining):
      while remaining > 0 && clientOpen {
        if start == end {
          flush()
          guard clientOpen, let count = fill(), count > 0 else { break }
        }
        let take = min(remaining, end - start)
        buffer.withUnsafeBytes { relay(UnsafeRawBufferPointer(rebasing: $0[start..<(start + take)])) }
        start += take
        remaining -= take
      }
      complete = remaining == 0
    case .chunked:
      var decoder = ChunkedDecoder(maxBodyBytes: Int.max)
      while !decoder.isComplete && clientOpen {
        if start == end {
          flush()
          guard clientOpen, let count = fill(), count > 0 else { break }
        }
        do {
          let consumed = try buffer.withUnsafeBytes { bytes in
            try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) { relay($0) }
          }
          start += consumed
        } catch {
          break
        }
      }
      complete = decoder.isComplete
    case .untilClose:
      while clientOpen {
        if start == end {
          flush()
          guard clientOpen, let count = fill(), count > 0 else { break }
        }
        buffer.withUnsafeBytes { relay(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        start = end
      }
      complete = clientOpen
    }
    send(masker.finish())
    if chunkedToClient && complete { outgoing += ChunkedEncoder.terminator }
    flush()
    // An incomplete relay must not look complete to the agent: close its connection.
    let outcome = Forwarder.Outcome(
      status: head.status, tokensIn: Int64(usage.inputTokens ?? 0), tokensOut: Int64(usage.outputTokens ?? 0),
      clientReusable: clientOpen && complete && clientKeepAlive && (chunkedToClient || framing == .none))
    let upstreamReusable = complete && head.keepAlive && framing != .untilClose && start == end
    return .relayed(outcome, upstreamReusable: upstreamReusable)
  }

  private func responseHead(_ head: HTTPResponseHead, framing: ResponseBodyFraming, chunked: Bool, keepAlive: Bool)
    -> [UInt8]
  {
    let connectionTokens = HopByHop.connectionTokens(head.headers)
    var text = "HTTP/1.1 \(head.status) \(head.reason)\r\n"
    for header in head.headers {
      let name = header.name.lowercased()
      if HopByHop.isHopByHop(name, connectionTokens: connectionTokens) || name == "content-length" { continue }
      text += "\(header.name): \(header.value)\r\n"
    }
    if chunked { text += "Transfer-Encoding: chunked\r\n" }
    if framing == .none { text += "Content-Length: 0\r\n" }
    if !keepAlive || (!chunked && framing != .none) { text += "Connection: close\r\n" }
    text += "\r\n"
    // Header values (and the reason) pass through a masker of their own: a provider that
    // echoes the key in a header must not hand it to the agent either.
    var headMasker = OutputMasker(secrets: [(secret, Array(request.key.masked.utf8))])
    var bytes = Array(text.utf8)
    defer { bytes.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
    var masked = bytes.withUnsafeBytes { headMasker.feed($0) }
    masked += headMasker.finish()
    return masked
  }

  /// Reads more of the response into the buffer; the count (0 at its end), nil on an error.
  private mutating func fill() -> Int? {
    if start == end {
      start = 0
      end = 0
    } else if end == buffer.count {
      if start > 0 {
        buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
        end -= start
        start = 0
      } else {
        guard buffer.count < 1 << 20 else { return nil }
        buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
      }
    }
    let count = buffer.withUnsafeMutableBytes { bytes in
      connection.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[end...]))
    }
    guard let count else { return nil }
    end += count
    return count
  }
}
