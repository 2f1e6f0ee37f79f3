import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault serve` under load, under attack and under kill: strict parsing, bounded timeouts,
/// exact usage counts, a state file that survives `kill -9`, loopback and unix sockets only.
final class GatewayRobustnessTests: GatewayTestCase {
  private let chat = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#

  func testTwoHundredConcurrentClientsAreAllServedAndCountedExactly() throws {
    try world.setUp(maxRequests: 400, maxSeconds: 90)
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let result = try world.python(
      GWScripts.concurrent, [String(gateway.port), token, "200", "/openai/chat/completions", "gpt-4o"], seconds: 100)
    XCTAssertEqual(result.status, 0, result.stderrText)
    let lines = result.stdoutText.split(separator: "\n")
    XCTAssertEqual(lines.count, 200)
    let failures = lines.filter { !$0.hasPrefix("200 ") }
    XCTAssertTrue(failures.isEmpty, "\(failures.count) of 200 failed, e.g. \(failures.prefix(3))")
    XCTAssertEqual(world.upstream!.requests.count, 200, "the upstream's count")
    let status = try world.vault(["gateway", "status", "--json"], environment: ["VAULT_PASSPHRASE_FILE": nil])
    XCTAssertEqual(status.status, 0, status.stderrText)
    let figures = gwJSON(status.stdout) ?? [:]
    XCTAssertEqual(figures["requests"] as? Int, 200, status.stdoutText)
    XCTAssertEqual(figures["errors"] as? Int, 0, status.stdoutText)
    XCTAssertEqual(gateway.terminate(), 0, "SIGTERM: exit status")
    let usage = try world.gatewayUsage("bot")
    XCTAssertEqual(usage["requests"] as? Int, 200)
    XCTAssertEqual(usage["succeeded"] as? Int, 200)
    XCTAssertEqual(usage["clientErrors"] as? Int, 0)
    XCTAssertEqual(usage["serverErrors"] as? Int, 0)
    XCTAssertEqual(usage["tokensIn"] as? Int, 2_000)
    XCTAssertEqual(usage["tokensOut"] as? Int, 1_000)
    // The provider key's own counts, as `vault show` gives them.
    let shown = try world.vault(["show", "OPENAI_API_KEY", "--json"], environment: ["VAULT_PASSPHRASE_FILE": nil])
    XCTAssertEqual(shown.status, 0, shown.stderrText)
    let keyUsage = gwJSON(shown.stdout)?["gateway"] as? [String: Any] ?? [:]
    XCTAssertEqual(keyUsage["requests"] as? Int, 200, shown.stdoutText)
    XCTAssertEqual(keyUsage["tokensIn"] as? Int, 2_000, shown.stdoutText)
    let text = try world.vault(["show", "OPENAI_API_KEY"], environment: ["VAULT_PASSPHRASE_FILE": nil])
    XCTAssertTrue(text.stdoutText.contains("Gateway:   200 requests (200 ok, 0 4xx, 0 5xx)"), text.stdoutText)
  }

  func testSmugglingAttemptsAreRefusedAndNeverReachTheUpstream() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let start = "POST /openai/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
    let smuggled = "GET /openai/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
    // (name, request, statuses accepted): 501 is RFC 9112's answer to a coding it does not know.
    let cases: [(String, String, Set<Int>)] = [
      ("CL+TE", start + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, [400]),
      ("TE+CL", start + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, [400]),
      (
        "two TE", start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled, [400]
      ),
      ("TE space before colon", start + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled, [400]),
      ("TE vertical tab", start + "Transfer-Encoding: \u{0B}chunked\r\n\r\n0\r\n\r\n" + smuggled, [400]),
      ("TE obs-fold", start + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled, [400]),
      ("TE xchunked", start + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled, [400, 501]),
      ("TE chunked, identity", start + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, [400, 501]),
      (
        "TE on HTTP/1.0",
        start.replacingOccurrences(of: "HTTP/1.1", with: "HTTP/1.0")
          + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, [400]
      ),
      ("two CL", start + "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}" + smuggled, [400]),
      ("two equal CL", start + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}" + smuggled, [400]),
      ("CL list", start + "Content-Length: 2, 2\r\n\r\n{}" + smuggled, [400]),
      ("CL plus sign", start + "Content-Length: +2\r\n\r\n{}" + smuggled, [400]),
      ("obs-fold", start + "X-Note: a\r\n  folded\r\nContent-Length: 2\r\n\r\n{}" + smuggled, [400]),
      ("bare LF", start.replacingOccurrences(of: "\r\n", with: "\n") + "Content-Length: 2\n\n{}" + smuggled, [400]),
      ("NUL in a value", start + "X-Note: a\u{0}b\r\nContent-Length: 2\r\n\r\n{}" + smuggled, [400]),
      ("bad chunk size", start + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n" + smuggled, [400]),
      (
        "huge chunk size", start + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff2\r\n{}\r\n0\r\n\r\n" + smuggled,
        [400, 413]
      ),
    ]
    for (name, request, accepted) in cases {
      let (bytes, closed) = try GWRawSocket.exchange(port: gateway.port, Array(request.utf8), seconds: 5)
      let statuses = GWRawSocket.statuses(bytes)
      XCTAssertEqual(statuses.count, 1, "\(name): \(statuses.count) responses, expected exactly one: \(statuses)")
      XCTAssertTrue(statuses.first.map(accepted.contains) == true, "\(name): status \(statuses), expected \(accepted)")
      XCTAssertTrue(closed, "\(name): the connection stayed open after a refused request")
      XCTAssertFalse(gwContainsAnyPiece(of: token, in: bytes), "\(name): the response holds the token")
    }
    XCTAssertEqual(world.upstream!.requests.count, 0, "a smuggling attempt reached the upstream")
    // The same bytes, well framed, are served: the refusals are about framing, not the request.
    let valid = start + "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    let (answer, _) = try GWRawSocket.exchange(port: gateway.port, Array(valid.utf8), seconds: 10)
    XCTAssertEqual(GWRawSocket.statuses(answer), [200])
    XCTAssertEqual(world.upstream!.requests.count, 1)
    XCTAssertFalse(gateway.process.hasExited)
  }

  func testASlowClientIsCutOffWhileOthersAreServed() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    // A debug build's head timeout, 2 s instead of 10, so the suite does not wait out the 10.
    let gateway = try world.serve(environment: ["VAULT_TEST_GATEWAY_HEAD_SECONDS": "2"])
    // Half a head, then nothing.
    let slow = try GWRawSocket.connect(port: gateway.port)
    defer { close(slow) }
    let partial = Array("POST /openai/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1".utf8)
    _ = partial.withUnsafeBytes { send(slow, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    let other = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
    XCTAssertEqual(other.status, 200, "a slow client held up another")
    // The gateway gives up on the slow head by itself (bound: generous, not a timing test).
    let (bytes, closed) = GWRawSocket.readUntilClose(slow, seconds: 45)
    XCTAssertTrue(closed, "the gateway kept a half-sent head open for 45 s")
    let statuses = GWRawSocket.statuses(bytes)
    XCTAssertTrue(statuses.isEmpty || statuses == [400] || statuses == [408], "\(statuses)")
    XCTAssertEqual(world.upstream!.requests.count, 1)
  }

  func testAnOversizedHeadIs431() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let big =
      "POST /openai/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nX-Big: "
      + String(repeating: "a", count: 70_000) + "\r\nContent-Length: 2\r\n\r\n{}"
    let (bytes, closed) = try GWRawSocket.exchange(port: gateway.port, Array(big.utf8), seconds: 10)
    XCTAssertEqual(GWRawSocket.statuses(bytes), [431])
    XCTAssertTrue(closed)
    XCTAssertEqual(world.upstream!.requests.count, 0)
  }

  func testKillNineThenRestartKeepsTheStateFileAndLosesAtMostOneBatch() throws {
    try world.setUp(maxRequests: 200)
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let first = try world.python(
      GWScripts.concurrent, [String(gateway.port), token, "20", "/openai/chat/completions", "gpt-4o"])
    XCTAssertEqual(first.stdoutText.split(separator: "\n").filter { $0.hasPrefix("200 ") }.count, 20)
    // The batch is written about each second.
    let flushed = gwEventually(seconds: 15) { (try? world.gatewayUsage("bot")["requests"] as? Int) == 20 }
    XCTAssertTrue(flushed, "20 requests never reached the state file")
    let second = try world.python(
      GWScripts.concurrent, [String(gateway.port), token, "5", "/openai/chat/completions", "gpt-4o"])
    XCTAssertEqual(second.stdoutText.split(separator: "\n").filter { $0.hasPrefix("200 ") }.count, 5)
    gateway.process.kill(SIGKILL)
    XCTAssertEqual(gateway.process.wait(seconds: 10), 128 + SIGKILL)

    try assertStateFileParses()
    let shown = try world.vault(["agent-key", "show", "bot", "--json"], environment: ["VAULT_PASSPHRASE_FILE": nil])
    XCTAssertEqual(shown.status, 0, shown.stderrText)
    XCTAssertFalse(shown.stderrText.contains("damaged"), shown.stderrText)
    let requests = (gwJSON(shown.stdout)?["gateway"] as? [String: Any])?["requests"] as? Int ?? -1
    XCTAssertTrue((20...25).contains(requests), "after kill -9: \(requests) requests counted, expected 20...25")

    // A restart over the dead gateway's control socket works, and counting goes on.
    let again = try world.serve()
    XCTAssertEqual(
      try world.curl(again, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat).status,
      200)
    XCTAssertEqual(again.terminate(), 0)
    try assertStateFileParses()
    XCTAssertEqual(try world.gatewayUsage("bot")["requests"] as? Int, requests + 1)
  }

  /// The state file's lines (docs/FORMAT.md): a header, then `agent|key ID NUMBERS...`.
  private func assertStateFileParses(file: StaticString = #filePath, line: UInt = #line) throws {
    let bytes = try gwReadFile(world.statePath)
    let text = String(decoding: bytes, as: UTF8.self)
    XCTAssertTrue(text.hasPrefix("llm-vault-usage 3 "), "state file header", file: file, line: line)
    XCTAssertTrue(text.hasSuffix("\n"), "the state file is cut short", file: file, line: line)
    var agents = 0
    for row in text.split(separator: "\n").dropFirst() {
      let fields = row.split(separator: " ")
      XCTAssertTrue(fields.count > 3 && ["agent", "key"].contains(fields[0]), "bad line", file: file, line: line)
      XCTAssertTrue(
        fields.dropFirst(2).allSatisfy { Int64($0) != nil }, "a count is not a number", file: file, line: line)
      if fields.first == "agent" { agents += 1 }
    }
    XCTAssertEqual(agents, 1, file: file, line: line)
    XCTAssertEqual(access(world.statePath + ".bad", F_OK), -1, "the state file was set aside as damaged")
  }

  func testListeningBeyondLoopbackIsRefused() throws {
    try world.vaultOK(["init"] + TestKDF.options)
    var environment = world.environment
    environment["VAULT_PASSPHRASE_FILE"] = nil
    for address in ["0.0.0.0:0", "192.0.2.1:0", "[::]:0", "10.0.0.1:0", "example.com:0", "127.0.0.1.nip.io:0"] {
      let process = try GWProcess(
        [GWFixtures.vault, "serve", "--listen", address], environment: environment, scratch: world.root)
      let code = process.wait(seconds: 15)
      XCTAssertNotNil(code, "\(address): vault serve kept running")
      XCTAssertNotEqual(code, 0, address)
      XCTAssertTrue(process.stderrText.contains("loopback"), "\(address): \(process.stderrText)")
      process.kill(SIGKILL)
    }
  }

  func testAUnixSocketWithMode0600ServesCurl() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let socketPath = world.root + "/gw.sock"
    let gateway = try world.serve(["--socket", socketPath])
    var status = stat()
    XCTAssertEqual(lstat(socketPath, &status), 0)
    XCTAssertEqual(status.st_mode & S_IFMT, S_IFSOCK)
    XCTAssertEqual(status.st_mode & 0o777, 0o600, String(status.st_mode & 0o777, radix: 8))
    XCTAssertEqual(lstat(world.controlSocket, &status), 0)
    XCTAssertEqual(status.st_mode & 0o777, 0o600, "control socket mode")
    let response = try world.curl(
      gateway, "http://localhost/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat,
      extra: ["--unix-socket", socketPath])
    XCTAssertEqual(response.status, 200, response.bodyText)
    XCTAssertEqual(world.upstream!.requests.last?.header("authorization"), "Bearer " + world.keys["openai"]!)
    XCTAssertEqual(gateway.terminate(), 0)
    XCTAssertEqual(access(socketPath, F_OK), -1, "the socket was left behind")
  }
}
