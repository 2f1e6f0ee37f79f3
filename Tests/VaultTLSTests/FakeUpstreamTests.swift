import Foundation
import Glibc
import VaultTLS
import XCTest

/// The fake upstream's modes, over one keep-alive VaultTLS connection: the gateway's
/// end-to-end tests rely on these shapes.
final class FakeUpstreamTests: XCTestCase {
  private var server: FakeUpstream?

  override func setUp() {
    super.setUp()
    signal(SIGPIPE, SIG_IGN)
  }

  override func tearDown() {
    server?.stop()
    super.tearDown()
  }

  private func exchange(
    _ connection: TLSConnection, _ path: String, _ body: String, _ headers: [String] = []
  ) throws -> HTTPResponse {
    let head = ["POST \(path) HTTP/1.1", "Host: upstream.test", "Content-Length: \(body.utf8.count)"] + headers
    try connection.write(head.joined(separator: "\r\n") + "\r\n\r\n" + body)
    return try connection.readResponse()
  }

  /// The JSON objects of the `data:` lines of an SSE body (not `[DONE]`).
  private func events(_ response: HTTPResponse) -> [[String: Any]] {
    response.text.components(separatedBy: "\n").filter { $0.hasPrefix("data: {") }.compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]
    }
  }

  func testModes() throws {
    let server = try FakeUpstream(maxRequests: 20)
    self.server = server
    let connection = try TLSConnection(
      fd: try connectedSocket(port: server.port), serverName: "upstream.test",
      context: try TLSClientContext(extraCAFiles: [fixture("tls/ca.pem")]))

    let echo = try exchange(
      connection, "/v1/chat/completions", #"{"model":"m"}"#,
      ["Authorization: Bearer sk-test-1", "x-fake-echo-auth: 1", "x-fake-completion-tokens: 9"])
    XCTAssertEqual((echo.json["echo"] as? [String: Any])?["authorization"] as? String, "Bearer sk-test-1")
    XCTAssertTrue((echo.json["echo"] as? [String: Any])?["x-api-key"] is NSNull)
    XCTAssertEqual((echo.json["usage"] as? [String: Any])?["completion_tokens"] as? Int, 9)

    let status = try exchange(connection, "/v1/chat/completions", "{}", ["x-fake-status: 429"])
    XCTAssertEqual(status.status, 429)
    XCTAssertNotNil(status.json["error"])

    let google = try exchange(connection, "/v1beta/models/gemini:generateContent?x=1", "{}")
    XCTAssertEqual((google.json["usageMetadata"] as? [String: Any])?["candidatesTokenCount"] as? Int, 5)

    let slow = try exchange(connection, "/v1/messages", #"{"model":"c"}"#, ["x-fake-slow-body-ms: 100"])
    XCTAssertEqual((slow.json["usage"] as? [String: Any])?["input_tokens"] as? Int, 10)

    let openAI = try exchange(
      connection, "/v1/chat/completions", #"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
      ["x-fake-events: 4", "x-fake-delay-ms: 10"])
    XCTAssertEqual(openAI.headers["content-type"], "text/event-stream")
    XCTAssertEqual(openAI.headers["transfer-encoding"], "chunked")
    XCTAssertTrue(openAI.text.hasSuffix("data: [DONE]\n\n"))
    XCTAssertEqual(events(openAI).count, 5)
    XCTAssertEqual((events(openAI).last?["usage"] as? [String: Any])?["total_tokens"] as? Int, 15)

    let anthropic = try exchange(
      connection, "/v1/messages", #"{"model":"c","stream":true}"#, ["x-fake-prompt-tokens: 3"])
    let types = events(anthropic).compactMap { $0["type"] as? String }
    XCTAssertEqual(types.first, "message_start")
    XCTAssertEqual(types.filter { $0 == "content_block_delta" }.count, 3)
    XCTAssertEqual(Array(types.suffix(2)), ["message_delta", "message_stop"])
    XCTAssertTrue(anthropic.text.contains(#""input_tokens": 3"#))

    let gemini = try exchange(connection, "/v1beta/models/gemini:streamGenerateContent?alt=sse", "{}")
    let counts = events(gemini).compactMap { ($0["usageMetadata"] as? [String: Any])?["candidatesTokenCount"] as? Int }
    XCTAssertEqual(counts.last, 5)
    XCTAssertEqual(counts, counts.sorted(), "cumulative")

    // A client that leaves mid-stream is logged, and the server goes on.
    let hold = server.path("never")
    try connection.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\nx-fake-hold-until: \(hold)\r\n"
        + "x-fake-events: 200\r\n\r\n{\"stream\":true}\n")
    _ = try connection.readSome()
    connection.close()
    FileManager.default.createFile(atPath: hold, contents: nil)
    let deadline = Date().addingTimeInterval(10)
    while try !server.log().contains(where: { $0["event"] as? String == "disconnected" }) && Date() < deadline {
      usleep(50_000)
    }
    XCTAssertTrue(try server.log().contains { $0["event"] as? String == "disconnected" })
    let again = try TLSConnection(
      fd: try connectedSocket(port: server.port), serverName: "localhost",
      context: try TLSClientContext(extraCAFiles: [fixture("tls/ca.pem")]))
    XCTAssertEqual(try exchange(again, "/", "{}").status, 200)
    XCTAssertEqual(try server.log().filter { $0["method"] != nil }.count, 9)
  }
}
