import VaultCore
import VaultTLS

/// One connection to a provider: TLS through VaultTLS, or plain TCP to a loopback server
/// (a local model server). Used by one request at a time and handed between threads only
/// through the pool's lock, hence `@unchecked Sendable`.
final class UpstreamConnection: @unchecked Sendable {
  private enum Transport {
    case tls(TLSConnection)
    case plain(Int32)
  }

  private let transport: Transport
  let poolKey: String
  private(set) var isOpen = true
  /// When it went back to the pool, for dropping connections idle too long.
  var idleSince: Double = 0

  /// Connects to `endpoint`: TCP with `timeout` seconds for the connect and for every later
  /// read and write, then the TLS handshake (chain and host name verified) when it is https.
  init(endpoint: EndpointURL, tls: TLSClientContext, timeout: Int) throws(GatewayError) {
    poolKey = Self.poolKey(endpoint)
    let descriptor: Int32
    do {
      // Connecting and the handshake get 10 s; a model may then think for `timeout` seconds.
      descriptor = try Sockets.connectTCP(host: endpoint.host, port: endpoint.port, timeout: min(timeout, 10))
    } catch {
      throw GatewayError(
        kind: .badGateway, message: "cannot reach the provider at \(endpoint.hostHeader): \(error.message)")
    }
    if endpoint.usesTLS {
      do {
        transport = .tls(try TLSConnection(fd: descriptor, serverName: endpoint.serverName, context: tls))
      } catch {
        throw GatewayError(
          kind: .badGateway, message: "TLS to the provider at \(endpoint.hostHeader) failed: \(error.message)")
      }
    } else {
      transport = .plain(descriptor)
    }
    Sockets.setTimeouts(descriptor, seconds: timeout)
  }

  static func poolKey(_ endpoint: EndpointURL) -> String {
    "\(endpoint.usesTLS ? "https" : "http")://\(endpoint.host):\(endpoint.port)"
  }

  var fileDescriptor: Int32 {
    switch transport {
    case .tls(let connection): return connection.fileDescriptor
    case .plain(let descriptor): return descriptor
    }
  }

  func write(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
      switch transport {
      case .tls(let connection):
        do {
          try connection.write(buffer)
          return true
        } catch {
          return false
        }
      case .plain(let descriptor):
        return Sockets.writeAll(descriptor, buffer)
      }
    }
  }

  /// Bytes read into `buffer`; 0 at the end of the stream; nil on an error or a timeout.
  func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
    switch transport {
    case .tls(let connection):
      return try? connection.read(into: buffer)
    case .plain(let descriptor):
      let count = Sockets.read(descriptor, into: buffer)
      return count >= 0 ? count : nil
    }
  }

  /// Whether an idle pooled connection can carry another request: nothing unread and the peer
  /// has not closed it (a readable idle socket means either).
  var isReusable: Bool {
    guard isOpen else { return false }
    if case .tls(let connection) = transport, connection.bufferedByteCount > 0 { return false }
    return !Sockets.waitReadable(fileDescriptor, milliseconds: 0)
  }

  func close() {
    guard isOpen else { return }
    isOpen = false
    switch transport {
    case .tls(let connection): connection.close()
    case .plain(let descriptor): Sockets.close(descriptor)
    }
  }

  deinit { close() }
}
