import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault serve` relays streams as they arrive, survives a client that leaves mid-stream, and
/// drains streams in flight on SIGTERM.
final class GatewayStreamingTests: GatewayTestCase {
  override func setUpWithError() throws {
    try super.setUpWithError()
    try world.setUp()
  }

  /// Starts the python streaming client; the upstream holds the stream after its first event
  /// until `hold` exists.
  private func startStream(
    _ gateway: GWGateway, token: String, hold: String, events: Int = 3, delayMs: Int = 0, close: Bool = false
  ) throws -> (client: GWProcess, first: String, rest: String) {
    let first = world.root + "/first-\(UUID().uuidString.prefix(6))"
    let rest = world.root + "/rest-\(UUID().uuidString.prefix(6))"
    let path = world.root + "/stream.py"
    try gwWriteFile(path, Array(GWScripts.stream.utf8), mode: 0o600)
    let client = try GWProcess(
      [GWFixtures.python, path, String(gateway.port), token, first, rest] + (close ? ["close"] : []),
      environment: [
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
        "GW_HEADERS": "x-fake-hold-until:\(hold)|x-fake-events:\(events)|x-fake-delay-ms:\(delayMs)",
      ], scratch: world.root)
    return (client, first, rest)
  }

  func testTheFirstEventReachesTheClientBeforeTheUpstreamSendsItsLast() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let hold = world.root + "/release"
    let (client, first, rest) = try startStream(gateway, token: token, hold: hold)
    // The upstream sends its first event, then waits for `hold`: the client can have the first
    // event only if the gateway relayed it at once.
    let gotFirst = gwEventually(seconds: 20) { access(first, F_OK) == 0 || client.hasExited }
    XCTAssertTrue(gotFirst && access(first, F_OK) == 0, "the first event did not reach the client while held")
    let firstText = String(decoding: (try? gwReadFile(first)) ?? [], as: UTF8.self)
    XCTAssertTrue(firstText.hasPrefix("200\n"), firstText)
    XCTAssertTrue(firstText.contains("data: ") && firstText.contains("tok0"), "not the first SSE event: \(firstText)")
    XCTAssertFalse(firstText.contains("[DONE]"), "the last event came before the upstream was released")
    XCTAssertEqual(access(rest, F_OK), -1, "the stream ended while the upstream was held")
    // Release the upstream: the rest arrives and the stream ends properly.
    try gwWriteFile(hold, [], mode: 0o600)
    XCTAssertEqual(client.finish(seconds: 30).status, 0, client.stderrText)
    let restText = String(decoding: (try? gwReadFile(rest)) ?? [], as: UTF8.self)
    XCTAssertTrue(restText.contains("tok2"), restText)
    XCTAssertTrue(restText.hasSuffix("data: [DONE]\n\n"), "the stream did not end with [DONE]: \(restText.suffix(80))")
    // Usage from the stream's usage chunk, counted once the gateway stops.
    XCTAssertEqual(gateway.terminate(), 0)
    let usage = try world.gatewayUsage("bot")
    XCTAssertEqual(usage["requests"] as? Int, 1)
    XCTAssertEqual(usage["tokensIn"] as? Int, 10, "prompt tokens from the stream")
    XCTAssertEqual(usage["tokensOut"] as? Int, 5, "completion tokens from the stream")
  }

  func testAClientThatDisconnectsMidStreamEndsTheUpstreamRequestAndTheGatewayKeepsServing() throws {
    let token = try world.agentKey("bot", ["--provider", "openai", "--concurrent", "1"])
    let gateway = try world.serve()
    let hold = world.root + "/release"
    let (client, first, _) = try startStream(gateway, token: token, hold: hold, events: 300, delayMs: 20, close: true)
    XCTAssertEqual(client.finish(seconds: 30).status, 0, client.stderrText)
    XCTAssertTrue(String(decoding: (try? gwReadFile(first)) ?? [], as: UTF8.self).contains("tok0"))
    // The client is gone; let the upstream go on streaming into the gateway.
    try gwWriteFile(hold, [], mode: 0o600)
    let noticed = gwEventually(seconds: 20) { !world.upstream!.disconnects.isEmpty }
    XCTAssertTrue(noticed, "the upstream never saw the request end (the gateway kept reading a stream nobody wants)")
    // The request is over: nothing in flight, and the concurrency slot is free again.
    let idle = gwEventually(seconds: 10) {
      let status = try? world.vault(["gateway", "status", "--json"], environment: ["VAULT_PASSPHRASE_FILE": nil])
      return (gwJSON(status?.stdout ?? [])?["inFlight"] as? Int) == 0
    }
    XCTAssertTrue(idle, "a request is still in flight after its client left")
    let next = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"],
      body: #"{"model":"gpt-4o","messages":[]}"#)
    XCTAssertEqual(next.status, 200, "the gateway did not keep serving: \(next.bodyText)")
    XCTAssertFalse(gateway.process.hasExited)
  }

  func testSIGTERMDrainsAStreamInFlightAndExitsZero() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let hold = world.root + "/release"
    let (client, first, rest) = try startStream(gateway, token: token, hold: hold)
    XCTAssertTrue(gwEventually(seconds: 20) { access(first, F_OK) == 0 || client.hasExited })
    gateway.process.kill(SIGTERM)
    // Draining: still running while the stream is held, and no longer taking connections.
    usleep(500_000)
    XCTAssertFalse(gateway.process.hasExited, "SIGTERM cut a stream in flight")
    XCTAssertThrowsError(
      try world.curl(
        gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: "{}", seconds: 5),
      "a draining gateway took a new request")
    try gwWriteFile(hold, [], mode: 0o600)
    XCTAssertEqual(client.finish(seconds: 30).status, 0, client.stderrText)
    let restText = String(decoding: (try? gwReadFile(rest)) ?? [], as: UTF8.self)
    XCTAssertTrue(restText.hasSuffix("data: [DONE]\n\n"), "the drained stream did not end: \(restText.suffix(80))")
    XCTAssertEqual(gateway.process.wait(seconds: 40), 0, "SIGTERM: exit status")
    XCTAssertTrue(gateway.log.contains("stopped"), gateway.log)
    XCTAssertEqual(access(world.controlSocket, F_OK), -1, "the control socket was left behind")
  }
}
