import Foundation
import Glibc
import XCTest

@testable import VaultTLS

/// VaultTLS against the fake upstream (Tests/Fixtures/fake_upstream.py) on 127.0.0.1.
final class TLSConnectionTests: XCTestCase {
  private var servers: [FakeUpstream] = []

  override func setUp() {
    super.setUp()
    signal(SIGPIPE, SIG_IGN)  // as `vault serve` does: a write to a reset socket fails with EPIPE
  }

  override func tearDown() {
    for server in servers { server.stop() }
    servers = []
    super.tearDown()
  }

  private func start(_ arguments: [String]? = nil, maxRequests: Int = 4) throws -> FakeUpstream {
    let server =
      try arguments.map { try FakeUpstream($0, maxRequests: maxRequests) }
      ?? FakeUpstream(maxRequests: maxRequests)
    servers.append(server)
    return server
  }

  private func testCA() throws -> TLSClientContext {
    try TLSClientContext(extraCAFiles: [fixture("tls/ca.pem")])
  }

  private func connect(
    _ server: FakeUpstream, _ serverName: String = "localhost", context: TLSClientContext? = nil, timeout: Double = 5
  ) throws -> TLSConnection {
    let fd = try connectedSocket(port: server.port, timeout: timeout)
    return try TLSConnection(fd: fd, serverName: serverName, context: context ?? testCA())
  }

  private func request(_ body: String, path: String = "/v1/chat/completions", headers: [String] = []) -> String {
    ([
      "POST \(path) HTTP/1.1", "Host: upstream.test", "Content-Type: application/json",
      "Content-Length: \(body.utf8.count)",
    ] + headers).joined(separator: "\r\n") + "\r\n\r\n" + body
  }

  // MARK: - Round trips

  func testRoundTripWithTheTestCA() throws {
    let server = try start()
    let connection = try connect(server)
    let body = #"{"model":"gpt-test","messages":[]}"#
    try connection.write(request(body, headers: ["x-fake-prompt-tokens: 7", "Connection: close"]))
    let bytes = try connection.readToEnd()
    let response = try XCTUnwrap(HTTPResponse(complete: bytes))
    XCTAssertEqual(response.status, 200)
    XCTAssertEqual(response.json["model"] as? String, "gpt-test")
    XCTAssertEqual((response.json["usage"] as? [String: Any])?["total_tokens"] as? Int, 12)
    let entry = try XCTUnwrap(server.log().first)
    XCTAssertEqual(entry["path"] as? String, "/v1/chat/completions")
    XCTAssertEqual(entry["sni"] as? String, "localhost", "SNI is sent for a DNS name")
    XCTAssertEqual(entry["body_sha256"] as? String, try sha256Hex(Array(body.utf8)))
  }

  func testKeepAliveAndBufferedBytes() throws {
    let server = try start()
    let connection = try connect(server, "upstream.test")
    try connection.write(request(#"{"model":"a"}"#) + request(#"{"model":"b"}"#))
    // A small read leaves the rest of the decrypted record in OpenSSL's buffer.
    let first = try connection.readSome(8)
    XCTAssertEqual(String(decoding: first, as: UTF8.self), "HTTP/1.1")
    XCTAssertGreaterThan(connection.bufferedByteCount, 0)
    var rest = first
    var response: HTTPResponse?
    while response == nil {
      rest += try connection.readSome(1)
      response = HTTPResponse(complete: rest)
    }
    XCTAssertEqual(response?.json["model"] as? String, "a")
    XCTAssertEqual(try connection.readResponse().json["model"] as? String, "b")
    XCTAssertEqual(connection.bufferedByteCount, 0)
    XCTAssertEqual(try server.log().compactMap { $0["sni"] as? String }, ["upstream.test", "upstream.test"])
  }

  func testLargeWritesArriveWhole() throws {
    let server = try start()
    let connection = try connect(server)
    // 1.5 MiB in one call: many TLS records, more than the loopback socket buffers take at once.
    let body = (0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
    try connection.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n")
    try connection.write(body)
    XCTAssertEqual(try connection.readResponse().status, 200)
    // A chunked request body, too.
    try connection.write(
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    let anthropic = try connection.readResponse()
    XCTAssertEqual(anthropic.json["type"] as? String, "message")
    let log = try server.log()
    XCTAssertEqual(log.count, 2)
    XCTAssertEqual(log[0]["body_length"] as? Int, body.count)
    XCTAssertEqual(log[0]["body_sha256"] as? String, try sha256Hex(body))
    XCTAssertEqual(log[1]["body_length"] as? Int, 11)
    XCTAssertEqual(log[1]["body_sha256"] as? String, try sha256Hex(Array("hello world".utf8)))
  }

  // MARK: - Verification

  func testServerIsRefusedWithoutTheTestCA() throws {
    let server = try start()
    let fd = try connectedSocket(port: server.port)
    let context = try TLSClientContext(extraCAFiles: [])
    assertTLSError(["certificate verify failed", "unable to get local issuer certificate"]) {
      try TLSConnection(fd: fd, serverName: "localhost", context: context)
    }
    XCTAssertFalse(isOpen(fd), "the socket is closed on failure")
  }

  func testServerCertifiedByAnotherCAIsRefused() throws {
    let server = try start(["--cert", fixture("tls/other-server.pem"), "--key", fixture("tls/other-server.key")])
    assertTLSError(["certificate verify failed"]) { try connect(server) }
    // ...and accepted by a client that trusts that CA, so the refusal was about the CA.
    let other = try TLSClientContext(extraCAFiles: [fixture("tls/other-ca.pem")])
    XCTAssertNoThrow(try connect(server, context: other))
  }

  func testHostnameMismatchIsRefused() throws {
    let server = try start()
    assertTLSError(["certificate verify failed: hostname mismatch"]) { try connect(server, "api.openai.com") }
    // No partial-label wildcard or suffix match either.
    assertTLSError(["hostname mismatch"]) { try connect(server, "evil-localhost") }
    assertTLSError(["hostname mismatch"]) { try connect(server, "localhost.evil.test") }
  }

  func testIPLiteralMatchesTheIPSubjectAltName() throws {
    let server = try start(maxRequests: 6)
    let connection = try connect(server, "127.0.0.1")
    try connection.write(request(#"{"model":"ip"}"#))
    XCTAssertEqual(try connection.readResponse().json["model"] as? String, "ip")
    XCTAssertTrue(try server.log()[0]["sni"] is NSNull, "no SNI for an IP literal")
    // The name is checked as an address, not as text: another address fails.
    assertTLSError(["certificate verify failed: ip address mismatch"]) { try connect(server, "127.0.0.2") }
    assertTLSError(["ip address mismatch"]) { try connect(server, "[::1]") }
  }

  func testTLS11ServerIsRefused() throws {
    let server = try start(
      ["--cert", fixture("tls/server.pem"), "--key", fixture("tls/server.key"), "--tls-max-version", "1.1"])
    assertTLSError(["handshake failed", "protocol"]) { try connect(server) }
    // Our own floor, whatever the system configuration says.
    XCTAssertEqual(try testCA().minimumProtocolVersion, 0x0303)
    XCTAssertEqual(try TLSClientContext.fromEnvironment([:]).minimumProtocolVersion, 0x0303)
  }

  func testPlainHTTPServerIsRefused() throws {
    let server = try start(["--plain"])
    assertTLSError(["handshake failed"]) { try connect(server) }
  }

  func testInvalidServerNameIsRefusedAndClosesTheSocket() throws {
    let server = try start()
    let fd = try connectedSocket(port: server.port)
    assertTLSError(["invalid server name"]) { try TLSConnection(fd: fd, serverName: "", context: try testCA()) }
    XCTAssertFalse(isOpen(fd))
  }

  // MARK: - End of stream, timeouts, close

  func testReadReturnsZeroAtEndOfStream() throws {
    let server = try start()
    // A bare EOF without close_notify (Python closes the socket after `Connection: close`).
    let bare = try connect(server)
    try bare.write(request("{}", headers: ["Connection: close"]))
    XCTAssertEqual(HTTPResponse(complete: try bare.readToEnd())?.status, 200)
    XCTAssertEqual(try bare.readSome(), [], "still 0 after the end")
    // A clean close_notify ending a close-delimited response.
    let clean = try connect(server)
    try clean.write(request(#"{"model":"cd"}"#, headers: ["x-fake-close-delimited: 1"]))
    let response = try XCTUnwrap(HTTPResponse(complete: try clean.readToEnd(), closeDelimited: true))
    XCTAssertNil(response.headers["content-length"])
    XCTAssertEqual(response.json["model"] as? String, "cd")
    XCTAssertEqual(try clean.readSome(), [])
  }

  func testReadTimesOutAndTheFirstEventArrivesBeforeTheLast() throws {
    let server = try start()
    let connection = try connect(server, timeout: 0.5)
    let hold = server.path("go")
    try connection.write(request(#"{"model":"s","stream":true}"#, headers: ["x-fake-hold-until: \(hold)"]))
    var received: [UInt8] = []
    while !String(decoding: received, as: UTF8.self).contains("tok0") { received += try connection.readSome() }
    XCTAssertFalse(String(decoding: received, as: UTF8.self).contains("[DONE]"))
    assertTLSError(["read timed out"]) { try connection.readSome() }
    assertTLSError(["unusable"]) { try connection.readSome() }
    connection.close()
    XCTAssertEqual(connection.fileDescriptor, -1)
  }

  func testHandshakeTimesOut() throws {
    // A listener that accepts the TCP connection (backlog) but never answers the ClientHello.
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, length) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &length) == 0
      }
    }
    XCTAssertTrue(bound)
    let fd = try connectedSocket(port: UInt16(bigEndian: address.sin_port), timeout: 0.3)
    let started = Date()
    assertTLSError(["handshake timed out"]) {
      try TLSConnection(fd: fd, serverName: "localhost", context: try testCA())
    }
    XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    XCTAssertFalse(isOpen(fd))
  }

  func testCloseIsIdempotentAndLaterCallsFail() throws {
    let server = try start()
    let connection = try connect(server)
    let fd = connection.fileDescriptor
    XCTAssertTrue(isOpen(fd))
    connection.close()
    connection.close()
    XCTAssertFalse(isOpen(fd))
    XCTAssertEqual(connection.fileDescriptor, -1)
    XCTAssertEqual(connection.bufferedByteCount, 0)
    assertTLSError(["connection closed"]) { try connection.write("GET / HTTP/1.1\r\n\r\n") }
    assertTLSError(["connection closed"]) { try connection.readSome() }
  }

  func testWriteToAPeerThatWentAwayFails() throws {
    let server = try start(maxRequests: 1)
    let connection = try connect(server)
    try connection.write(request("{}"))
    XCTAssertEqual(try connection.readResponse().status, 200)
    server.stop()  // the process exits; its sockets close
    // The first write may still be accepted by the kernel; a later one meets the reset.
    assertTLSError(["connection"]) {
      for _ in 0..<50 {
        try connection.write(request("{}"))
        usleep(20_000)
      }
    }
  }

  // MARK: - Trust store configuration

  func testFromEnvironmentAddsVaultCAFileAndSSLCertFile() throws {
    let server = try start(maxRequests: 8)
    for variable in ["VAULT_CA_FILE", "SSL_CERT_FILE"] {
      let context = try TLSClientContext.fromEnvironment([variable: fixture("tls/ca.pem")])
      XCTAssertNoThrow(try connect(server, context: context), variable)
    }
    // Both at once: each adds, neither replaces the other.
    let both = try TLSClientContext.fromEnvironment([
      "SSL_CERT_FILE": fixture("tls/other-ca.pem"), "VAULT_CA_FILE": fixture("tls/ca.pem"),
    ])
    XCTAssertNoThrow(try connect(server, context: both))
    // Unset or empty: the system store only, which does not know the test CA.
    for environment in [[:], ["VAULT_CA_FILE": "", "SSL_CERT_FILE": ""]] {
      let context = try TLSClientContext.fromEnvironment(environment)
      assertTLSError(["certificate verify failed"]) { try connect(server, context: context) }
    }
  }

  func testUnreadableOrEmptyCAFileIsAnError() throws {
    assertTLSError(["cannot read ca file /nonexistent/ca.pem (VAULT_CA_FILE)"]) {
      try TLSClientContext.fromEnvironment(["VAULT_CA_FILE": "/nonexistent/ca.pem"])
    }
    assertTLSError(["no such file or directory"]) { try TLSClientContext(extraCAFiles: ["/nonexistent/ca.pem"]) }
    // A readable file with no certificate in it (a private key).
    assertTLSError(["cannot load ca file"]) { try TLSClientContext(extraCAFiles: [fixture("tls/server.key")]) }
  }
}
