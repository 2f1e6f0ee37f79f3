import COpenSSLTLS
import Glibc

/// One client TLS connection over an already connected, blocking socket it takes ownership of.
///
/// Used by one thread at a time (not `Sendable`). Timeouts are the caller's: set `SO_RCVTIMEO`
/// and `SO_SNDTIMEO` on the socket before handing it over; a read, write or handshake that
/// runs into one fails with "... timed out".
///
/// SIGPIPE: OpenSSL writes with `write(2)` (through `SSL_set_fd`), so writing to a socket the
/// peer has reset raises SIGPIPE. The process must ignore it (`vault serve` sets `SIG_IGN`);
/// the write then fails with EPIPE, reported as "connection closed by peer".
///
/// After any error the connection is finished: later calls throw, and `close()` closes the
/// socket without a close_notify (OpenSSL forbids `SSL_shutdown` after a fatal error).
public final class TLSConnection {
  /// The `SSL *`, owned; nil once closed.
  private var ssl: OpaquePointer?
  private let socket: Int32
  /// Set by the first failed read or write.
  private var failure: TLSError?

  /// Runs the handshake: SNI is sent for DNS names (not for IP literals), the chain is
  /// verified against `context`'s trust store, and the certificate must match `serverName`:
  /// a DNS name through `SSL_set1_host` (no partial wildcards), an IPv4 or IPv6 literal
  /// (brackets allowed) through `X509_VERIFY_PARAM_set1_ip_asc` against an IP SAN.
  /// Closes `fd` on failure.
  public init(fd: Int32, serverName: String, context: TLSClientContext) throws(TLSError) {
    do throws(TLSError) {
      ssl = try Self.handshake(fd: fd, serverName: serverName, context: context)
    } catch {
      Glibc.close(fd)
      throw error
    }
    socket = fd
  }

  deinit {
    close()
  }

  /// Bytes already decrypted and buffered (`SSL_pending`): a pool can tell an idle connection
  /// from one with unread data. 0 once closed.
  public var bufferedByteCount: Int {
    guard let ssl else { return 0 }
    return Int(SSL_pending(ssl))
  }

  /// The socket, for `poll()` by the caller; -1 once closed.
  public var fileDescriptor: Int32 { ssl == nil ? -1 : socket }

  /// Writes every byte (`SSL_write` in a loop until all are written).
  public func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
    let ssl = try usable()
    guard let base = bytes.baseAddress else { return }
    var offset = 0
    while offset < bytes.count {
      clearOpenSSLErrors()
      let written = SSL_write(ssl, base + offset, Int32(clamping: bytes.count - offset))
      let savedErrno = errno
      guard written > 0 else { throw fail(ssl, result: written, errno: savedErrno, operation: "write") }
      offset += Int(written)
    }
  }

  /// Writes every byte of `bytes`; see `write(_:)`.
  ///
  /// For callers with typed throws: `Array.withUnsafeBytes` rethrows `any Error`, and a
  /// `throws(TLSError)` closure passed to it crashes swift-frontend 6.3.1 in IRGen.
  public func write(_ bytes: [UInt8]) throws(TLSError) {
    var failure: TLSError?
    bytes.withUnsafeBytes { buffer in
      do throws(TLSError) { try write(buffer) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  /// Reads up to `buffer.count` bytes into the start of `buffer`; see `read(into:)`.
  public func read(into buffer: inout [UInt8]) throws(TLSError) -> Int {
    var result: Result<Int, TLSError> = .success(0)
    buffer.withUnsafeMutableBytes { bytes in
      do throws(TLSError) { result = .success(try read(into: bytes)) } catch { result = .failure(error) }
    }
    return try result.get()
  }

  /// Reads up to `buffer.count` bytes (at least one must fit) into `buffer` (`SSL_read`).
  /// Returns 0 when the peer closed: after a close_notify and also after a bare EOF, since
  /// only the HTTP framing above can say whether the response was complete.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
    precondition(buffer.count > 0, "TLSConnection.read needs room for at least one byte")
    let ssl = try usable()
    clearOpenSSLErrors()
    let count = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
    let savedErrno = errno
    if count > 0 { return Int(count) }
    if SSL_get_error(ssl, count) == SSL_ERROR_ZERO_RETURN {
      clearOpenSSLErrors()
      return 0
    }
    throw fail(ssl, result: count, errno: savedErrno, operation: "read")
  }

  /// Sends close_notify when the connection is still sound (one `SSL_shutdown`, without
  /// waiting for the peer's) and closes the socket. Idempotent; also done by `deinit`.
  public func close() {
    guard let ssl else { return }
    self.ssl = nil
    if failure == nil {
      clearOpenSSLErrors()
      _ = SSL_shutdown(ssl)
    }
    SSL_free(ssl)
    Glibc.close(socket)
    clearOpenSSLErrors()
  }

  // MARK: - Internals

  private func usable() throws(TLSError) -> OpaquePointer {
    if let failure { throw TLSError("connection unusable after an earlier error (\(failure.message))") }
    guard let ssl else { throw TLSError("connection closed") }
    return ssl
  }

  /// Records and returns the error for a failed `SSL_read`/`SSL_write` that returned `result`.
  private func fail(_ ssl: OpaquePointer, result: Int32, errno savedErrno: Int32, operation: String) -> TLSError {
    let error = Self.classify(ssl, result: result, errno: savedErrno, operation: operation)
    failure = error
    return error
  }

  /// One line for a failed `SSL_*` call; drains the error queue.
  ///
  /// On a blocking socket SSL_ERROR_WANT_READ/WRITE can only mean that `SO_RCVTIMEO` or
  /// `SO_SNDTIMEO` expired (the socket call failed with EAGAIN), hence "timed out".
  private static func classify(_ ssl: OpaquePointer, result: Int32, errno savedErrno: Int32, operation: String)
    -> TLSError
  {
    let code = SSL_get_error(ssl, result)
    let reasons = drainOpenSSLErrors()
    let detail = reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")
    switch code {
    case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
      return TLSError("\(operation) timed out")
    case SSL_ERROR_ZERO_RETURN:
      return TLSError("\(operation) failed: connection closed by peer")
    case SSL_ERROR_SYSCALL:
      switch savedErrno {
      case EAGAIN, EWOULDBLOCK: return TLSError("\(operation) timed out")
      case ECONNRESET: return TLSError("connection reset during \(operation)")
      case EPIPE: return TLSError("\(operation) failed: connection closed by peer")
      case 0: return TLSError("\(operation) failed: connection closed by peer\(detail)")
      default: return TLSError("\(operation) failed: \(describeErrno(savedErrno))\(detail)")
      }
    default:
      return TLSError("\(operation) failed\(reasons.isEmpty ? ": tls error \(code)" : detail)")
    }
  }

  /// Makes the `SSL`, sets SNI and the name check, and runs `SSL_connect`; frees the `SSL`
  /// (but does not close `fd`) on failure.
  private static func handshake(fd: Int32, serverName: String, context: TLSClientContext) throws(TLSError)
    -> OpaquePointer
  {
    let name =
      serverName.hasPrefix("[") && serverName.hasSuffix("]") ? String(serverName.dropFirst().dropLast()) : serverName
    guard !name.isEmpty, !name.utf8.contains(0) else { throw TLSError("invalid server name") }
    clearOpenSSLErrors()
    guard let ssl = SSL_new(context.pointer) else { throw openSSLError("cannot create a tls connection") }
    do throws(TLSError) {
      clearOpenSSLErrors()
      guard SSL_set_fd(ssl, fd) == 1 else { throw openSSLError("cannot attach the socket") }
      if isIPLiteral(name) {
        // No SNI for an address (RFC 6066 section 3); the certificate must carry it as an IP SAN.
        clearOpenSSLErrors()
        guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 else {
          throw openSSLError("cannot check the ip address \(name)")
        }
      } else {
        clearOpenSSLErrors()
        guard vault_tls_set_server_name_indication(ssl, name) == 1 else {
          throw openSSLError("cannot send the server name \(name)")
        }
        SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        clearOpenSSLErrors()
        guard SSL_set1_host(ssl, name) == 1 else { throw openSSLError("cannot check the host name \(name)") }
      }
      clearOpenSSLErrors()
      let result = SSL_connect(ssl)
      let savedErrno = errno
      if result != 1 {
        let verification = SSL_get_verify_result(ssl)
        if verification != X509_V_OK {
          // "certificate verify failed: hostname mismatch": the queue's reason, then the detail.
          let reasons = drainOpenSSLErrors()
          let reason = reasons.first { $0.contains("verify") } ?? "certificate verify failed"
          throw TLSError("\(reason): \(String(cString: X509_verify_cert_error_string(verification)).lowercased())")
        }
        throw classify(ssl, result: result, errno: savedErrno, operation: "handshake")
      }
    } catch {
      SSL_free(ssl)
      clearOpenSSLErrors()
      throw error
    }
    return ssl
  }

  private static func isIPLiteral(_ name: String) -> Bool {
    var address = in6_addr()
    return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
  }
}
