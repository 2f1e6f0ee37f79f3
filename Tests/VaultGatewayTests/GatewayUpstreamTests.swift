import Foundation
import VaultCrypto
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The gateway's side towards the provider: a verified TLS upstream, bodies and responses
/// relayed intact, upstream errors passed on and counted, the connection to the agent reused.
final class GatewayUpstreamTests: GatewayTestCase {
  private let chat = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#

  func testAnUpstreamCertificateNotFromATrustedCAIsRefused() throws {
    // A server certificate for the right names, from a CA the gateway does not trust.
    let fixtures = GWFixtures.directory + "/tls/"
    try world.setUp(certificate: (fixtures + "other-server.pem", fixtures + "other-server.key"))
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()  // trusts ca.pem only (VAULT_CA_FILE)
    let response = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
    XCTAssertEqual(response.status, 502, response.bodyText)
    XCTAssertNotNil(response.errorMessage, "an OpenAI-shaped error")
    XCTAssertEqual(world.upstream!.requests.count, 0, "a request (and the key) went to an unverified upstream")
    XCTAssertTrue(world.upstream!.rawLog.isEmpty, "the fake logged a request")
  }

  func testWithoutTheTestCATheFakeUpstreamIsRefused() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve(environment: ["VAULT_CA_FILE": nil, "SSL_CERT_FILE": nil])
    let response = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
    XCTAssertEqual(response.status, 502, response.bodyText)
    XCTAssertEqual(world.upstream!.requests.count, 0, "the key went to an upstream the system store does not trust")
  }

  func testPlainHTTPUpstreamOnlyOnLoopback() throws {
    try world.setUp(certificate: nil)
    let refused = try world.vault(["config", "set", "provider.openai.base-url", "http://192.0.2.1:8080/v1"])
    XCTAssertNotEqual(refused.status, 0, "plain http to a non-loopback host was accepted")
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let response = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
    XCTAssertEqual(response.status, 200, response.bodyText)
    XCTAssertEqual(world.upstream!.requests.last?.header("authorization"), "Bearer " + world.keys["openai"]!)
  }

  func testUpstreamErrorsAreRelayedAndUsageCountsEachStatusClass() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let headers = ["Authorization: Bearer \(token)"]
    XCTAssertEqual(try world.curl(gateway, "/openai/chat/completions", headers: headers, body: chat).status, 200)
    let failed = try world.curl(
      gateway, "/openai/chat/completions", headers: headers + ["x-fake-status: 503"], body: chat)
    XCTAssertEqual(failed.status, 503)
    XCTAssertEqual(failed.errorMessage, "fake error 503", "the provider's own error body is relayed")
    let limited = try world.curl(
      gateway, "/openai/chat/completions", headers: headers + ["x-fake-status: 429"], body: chat)
    XCTAssertEqual(limited.status, 429)
    let denied = try world.curl(gateway, "/anthropic/v1/messages", headers: ["x-api-key: \(token)"], body: chat)
    XCTAssertEqual(denied.status, 403)
    XCTAssertEqual(gateway.terminate(), 0)
    let usage = try world.gatewayUsage("bot")
    XCTAssertEqual(usage["requests"] as? Int, 4)
    XCTAssertEqual(usage["succeeded"] as? Int, 1)
    XCTAssertEqual(usage["clientErrors"] as? Int, 2, "the upstream's 429 and the gateway's 403")
    XCTAssertEqual(usage["serverErrors"] as? Int, 1)
    XCTAssertEqual(usage["tokensIn"] as? Int, 10)
    XCTAssertEqual(usage["tokensOut"] as? Int, 5)
  }

  func testALargeBodyIsForwardedByteForByte() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    // About 3 MiB, like an image: curl sends `Expect: 100-continue` first.
    let filler = String(repeating: "abcdefghijklmnopqrstuvwxyz0123456789", count: 90_000)
    let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":""# + filler + #""}]}"#
    let response = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: body)
    XCTAssertEqual(response.status, 200, response.bodyText.prefix(300).description)
    let line = try XCTUnwrap(world.upstream!.lines.first)
    XCTAssertEqual(line["body_length"] as? Int, body.utf8.count)
    XCTAssertEqual(line["body_sha256"] as? String, sha256Hex(Array(body.utf8)))
  }

  func testACloseDelimitedUpstreamResponseIsRelayedWhole() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let headers = ["Authorization: Bearer \(token)", "x-fake-close-delimited: 1"]
    let plain = try world.curl(gateway, "/openai/chat/completions", headers: headers, body: chat)
    XCTAssertEqual(plain.status, 200)
    XCTAssertEqual((plain.json?["usage"] as? [String: Any])?["total_tokens"] as? Int, 15, plain.bodyText)
    let stream = try world.curl(
      gateway, "/openai/chat/completions", headers: headers,
      body: #"{"model":"gpt-4o","stream":true,"messages":[]}"#)
    XCTAssertEqual(stream.status, 200)
    XCTAssertTrue(stream.bodyText.hasSuffix("data: [DONE]\n\n"), stream.bodyText.suffix(80).description)
    XCTAssertEqual(world.upstream!.requests.count, 2)
  }

  func testOneAgentConnectionCarriesRequestsAndRefusals() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let script = """
      import http.client, sys
      port, token = int(sys.argv[1]), sys.argv[2]
      connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
      connection.connect()
      first = connection.sock
      out = []
      for auth in [token, "vk_wrong", token, token]:
          connection.request("POST", "/openai/chat/completions", body='{"model":"gpt-4o"}',
                             headers={"Authorization": "Bearer " + auth})
          response = connection.getresponse()
          response.read()
          out.append("%d %s" % (response.status, "same" if connection.sock is first else "new"))
      print(",".join(out))
      """
    let result = try world.python(script, [String(gateway.port), token])
    XCTAssertEqual(
      result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "200 same,401 same,200 same,200 same",
      result.stderrText)
  }

  func testSIGHUPReopensTheLogFile() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let logFile = world.root + "/gateway.log"
    let gateway = try world.serve(["--listen", "127.0.0.1:0", "--log-file", logFile])
    let headers = ["Authorization: Bearer \(token)"]
    XCTAssertEqual(try world.curl(gateway, "/openai/chat/completions", headers: headers, body: chat).status, 200)
    XCTAssertEqual(rename(logFile, logFile + ".1"), 0)
    gateway.process.kill(SIGHUP)
    XCTAssertTrue(gwEventually(seconds: 10) { access(logFile, F_OK) == 0 }, "SIGHUP did not reopen the log")
    XCTAssertEqual(try world.curl(gateway, "/openai/chat/completions", headers: headers, body: chat).status, 200)
    XCTAssertFalse(gateway.process.hasExited, "SIGHUP stopped the gateway")
    let rotated = String(decoding: (try? gwReadFile(logFile + ".1")) ?? [], as: UTF8.self)
    let fresh = String(decoding: (try? gwReadFile(logFile)) ?? [], as: UTF8.self)
    XCTAssertEqual(rotated.components(separatedBy: " 200 POST ").count - 1, 1, rotated)
    XCTAssertEqual(fresh.components(separatedBy: " 200 POST ").count - 1, 1, fresh)
  }

  func testPathTricksAndOversizedBodiesAreRefusedBeforeTheUpstream() throws {
    try world.setUp()
    let token = try world.agentKey("bot", ["--all"])
    let gateway = try world.serve()
    let cases: [(String, String, Set<Int>)] = [
      ("dot-dot", "/openai/../anthropic/v1/messages", [400]),
      ("encoded dot-dot", "/openai/%2e%2e/anthropic/v1/messages", [400]),
      ("encoded slash", "/openai/chat%2fcompletions", [400]),
      ("absolute-form", "http://evil.example/openai/chat/completions", [400]),
    ]
    for (name, target, accepted) in cases {
      let request =
        "POST \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
        + "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
      let (bytes, _) = try GWRawSocket.exchange(port: gateway.port, Array(request.utf8), seconds: 5)
      let statuses = GWRawSocket.statuses(bytes)
      XCTAssertTrue(statuses.count == 1 && accepted.contains(statuses[0]), "\(name): \(statuses)")
    }
    // Over 32 MiB: refused from the head, before a byte of the body is read.
    let huge =
      "POST /openai/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
      + "Content-Length: 40000000\r\n\r\n"
    let (bytes, closed) = try GWRawSocket.exchange(port: gateway.port, Array(huge.utf8), seconds: 10)
    XCTAssertEqual(GWRawSocket.statuses(bytes), [413])
    XCTAssertTrue(closed)
    XCTAssertEqual(world.upstream!.requests.count, 0)
  }
}

private func sha256Hex(_ bytes: [UInt8]) -> String {
  SHA256.hash(bytes).map { String(format: "%02x", $0) }.joined()
}
