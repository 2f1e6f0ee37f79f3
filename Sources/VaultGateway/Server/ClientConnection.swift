#if canImport(Glibc)
  import Glibc
#endif

/// One agent's connection to the gateway: buffered reads of request heads and bodies under
/// deadlines, so a slow or silent client holds its own thread for a bounded time only.
final class ClientConnection {
  /// How long a whole request head may take to arrive once its first byte has, how long a
  /// body may stall between reads, and how long a keep-alive connection may sit idle.
  static let headSeconds: Double = {
    #if DEBUG
      // The suite's slow-client test waits this out: a debug build takes 1 to 10 seconds from
      // VAULT_TEST_GATEWAY_HEAD_SECONDS (anything else is ignored); a release build, never.
      if let raw = getenv("VAULT_TEST_GATEWAY_HEAD_SECONDS"), let seconds = Int(String(cString: raw)),
        (1...10).contains(seconds)
      {
        return Double(seconds)
      }
    #endif
    return 10
  }()
  static let bodyStallSeconds = 30
  /// A whole body must arrive within this (32 MiB over loopback takes well under a second).
  static let bodySeconds = 120.0
  static let idleSeconds = 60.0

  let descriptor: Int32
  private var buffer: [UInt8]
  private var start = 0
  private var end = 0

  init(descriptor: Int32) {
    self.descriptor = descriptor
    buffer = [UInt8](repeating: 0, count: 16_384)
    Sockets.setNoDelay(descriptor)
    // A client that stops reading a stream must not hold its thread forever.
    Sockets.setTimeouts(descriptor, seconds: Self.bodyStallSeconds)
  }

  var hasBufferedBytes: Bool { end > start }

  enum HeadResult {
    case head(HTTPRequestHead)
    /// The client closed, went idle too long, or the gateway is draining.
    case closed
    case timedOut
  }

  /// The next request head. Waits up to `idleSeconds` for its first byte (checking
  /// `shouldStop` as it waits), then up to `headSeconds` for the whole head.
  func readHead(limits: HTTPLimits, shouldStop: () -> Bool) throws -> HeadResult {
    if !hasBufferedBytes {
      let idleDeadline = Threads.monotonicSeconds() + Self.idleSeconds
      while !Sockets.waitReadable(descriptor, milliseconds: 250) {
        if shouldStop() || Threads.monotonicSeconds() > idleDeadline { return .closed }
      }
    }
    let deadline = Threads.monotonicSeconds() + Self.headSeconds
    // The parser keeps no state between calls, so it runs again only once a new line has
    // arrived: a client sending a byte at a time costs linear, not quadratic, work.
    var scanned = 0  // bytes after `start` already searched for a line end (fill may move `start`)
    while true {
      let newLine = buffer[(start + scanned)..<end].contains(0x0A)
      scanned = end - start
      if hasBufferedBytes && newLine {
        let parsed = try buffer.withUnsafeBytes { bytes in
          try HTTPRequestParser.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), limits: limits)
        }
        if let (head, consumed) = parsed {
          start += consumed
          return .head(head)
        }
        if end - start >= limits.maxHeaderBytes {
          throw HTTPParseError(status: 431, reason: "request header fields too large")
        }
      }
      let remaining = deadline - Threads.monotonicSeconds()
      guard remaining > 0 else { return .timedOut }
      switch fill(timeoutMilliseconds: Int(remaining * 1_000) + 1, limit: limits.maxHeaderBytes + 4) {
      case .some(0): return .closed
      case .some: continue
      case .none: return hasBufferedBytes ? .timedOut : .closed
      }
    }
  }

  /// Reads and drops the body of a refused request, so the connection can carry the next one;
  /// false (close the connection) for a body over `limit` or one that does not arrive within
  /// `seconds`. Keeps nothing.
  func discardBody(_ framing: BodyFraming, limit: Int, seconds: Double) -> Bool {
    if case .contentLength(let length) = framing, length > limit { return false }
    return (try? readBody(framing, limit: limit, seconds: seconds, keep: false)) != nil
  }

  /// The whole request body (at most `limit` bytes), decoded from its framing.
  func readBody(_ framing: BodyFraming, limit: Int, seconds: Double = bodySeconds, keep: Bool = true) throws
    -> [UInt8]
  {
    let deadline = Threads.monotonicSeconds() + seconds
    func more() throws -> Int {
      let remaining = min(Double(Self.bodyStallSeconds), deadline - Threads.monotonicSeconds())
      guard remaining > 0, let count = fill(timeoutMilliseconds: Int(remaining * 1_000) + 1, limit: buffer.count),
        count > 0
      else { throw HTTPParseError(status: 408, reason: "the request body ended early or did not arrive in time") }
      return count
    }
    switch framing {
    case .none:
      return []
    case .contentLength(let length):
      guard length <= limit else { throw HTTPParseError(status: 413, reason: "request body too large") }
      var body: [UInt8] = []
      if keep { body.reserveCapacity(length) }
      var read = 0
      while read < length {
        if !hasBufferedBytes { _ = try more() }
        let take = min(length - read, end - start)
        if keep { body.append(contentsOf: buffer[start..<(start + take)]) }
        read += take
        start += take
      }
      return body
    case .chunked:
      var decoder = ChunkedDecoder(maxBodyBytes: limit)
      var body: [UInt8] = []
      while !decoder.isComplete {
        if !hasBufferedBytes { _ = try more() }
        let consumed = try buffer.withUnsafeBytes { bytes in
          try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
            if keep { body.append(contentsOf: $0) }
          }
        }
        start += consumed
      }
      return body
    }
  }

  /// Reads more bytes after the buffered ones; the count read (0 at end of stream), or nil on
  /// an error or when nothing arrived within the timeout.
  private func fill(timeoutMilliseconds: Int, limit: Int) -> Int? {
    if start == end {
      start = 0
      end = 0
    } else if start > 0 && end == buffer.count {
      buffer.withUnsafeMutableBytes { bytes in
        _ = memmove(bytes.baseAddress!, bytes.baseAddress! + start, end - start)
      }
      end -= start
      start = 0
    }
    if end == buffer.count {
      guard buffer.count < max(limit, 16_384) else { return nil }
      buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
    }
    guard Sockets.waitReadable(descriptor, milliseconds: Int32(clamping: timeoutMilliseconds)) else { return nil }
    let count = buffer.withUnsafeMutableBytes { bytes in
      Sockets.read(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: bytes[end...]))
    }
    guard count >= 0 else { return nil }
    end += count
    return count
  }

  /// Writes every byte; false when the client went away.
  @discardableResult
  func write(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { Sockets.writeAll(descriptor, $0) }
  }

  /// Closes after a lingering drain: the write side is shut first and what the client still
  /// sends (a body the gateway refused to read) is read and dropped for up to 2 s, so the client
  /// sees the answer instead of a reset. Bounded in time and bytes; nothing is kept.
  func close() {
    Sockets.shutdownWrite(descriptor)
    let deadline = Threads.monotonicSeconds() + 2
    var drained = 0
    buffer.withUnsafeMutableBytes { bytes in
      while drained < 64 << 20 {
        let remaining = deadline - Threads.monotonicSeconds()
        guard remaining > 0, Sockets.waitReadable(descriptor, milliseconds: Int32(remaining * 1_000) + 1) else { break }
        let count = Sockets.read(descriptor, into: bytes)
        if count <= 0 { break }
        drained += count
      }
    }
    Sockets.close(descriptor)
  }
}
