import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The owner's limits per agent key: each one gives 429 with Retry-After and names itself.
final class GatewayLimitsTests: GatewayTestCase {
  override func setUpWithError() throws {
    try super.setUpWithError()
    try world.setUp()
  }

  private let chat = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#

  private func send(_ gateway: GWGateway, _ token: String) throws -> GWResponse {
    try world.curl(gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
  }

  /// A 429 naming `limit`, OpenAI-shaped, with a Retry-After in `retry`.
  private func assertLimited(
    _ response: GWResponse, _ limit: String, retry: ClosedRange<Int>, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(response.status, 429, response.bodyText, file: file, line: line)
    let retryAfter = response.header("retry-after").flatMap { Int($0) }
    XCTAssertNotNil(retryAfter, "no whole-second Retry-After", file: file, line: line)
    if let retryAfter {
      XCTAssertTrue(retry.contains(retryAfter), "Retry-After \(retryAfter) not in \(retry)", file: file, line: line)
    }
    XCTAssertTrue(
      response.errorMessage?.contains(limit) == true, "the limit is not named: \(response.bodyText)", file: file,
      line: line)
    XCTAssertEqual(
      (response.json?["error"] as? [String: Any])?["code"] as? String, "rate_limit_exceeded", file: file, line: line)
  }

  func testRequestsPerMinute() throws {
    let token = try world.agentKey("bot", ["--provider", "openai", "--rpm", "2"])
    let gateway = try world.serve()
    XCTAssertEqual(try send(gateway, token).status, 200)
    XCTAssertEqual(try send(gateway, token).status, 200)
    assertLimited(try send(gateway, token), "2 requests per minute", retry: 1...60)
    XCTAssertEqual(world.upstream!.requests.count, 2, "a limited request reached the upstream")
  }

  func testRequestsPerDay() throws {
    let token = try world.agentKey("bot", ["--provider", "openai", "--requests-per-day", "2"])
    let gateway = try world.serve()
    XCTAssertEqual(try send(gateway, token).status, 200)
    XCTAssertEqual(try send(gateway, token).status, 200)
    assertLimited(try send(gateway, token), "2 requests per day", retry: 1...86_400)
    XCTAssertEqual(world.upstream!.requests.count, 2)
  }

  func testTokensPerDayFromTheProvidersUsage() throws {
    // Each answer reports 10 + 5 tokens: 15 (< 20) still admits one more, 30 does not.
    let token = try world.agentKey("bot", ["--provider", "openai", "--tokens-per-day", "20"])
    let gateway = try world.serve()
    XCTAssertEqual(try send(gateway, token).status, 200)
    XCTAssertEqual(try send(gateway, token).status, 200)
    assertLimited(try send(gateway, token), "20 tokens per day", retry: 1...86_400)
    XCTAssertEqual(world.upstream!.requests.count, 2)
  }

  func testConcurrentRequests() throws {
    let token = try world.agentKey("bot", ["--provider", "openai", "--concurrent", "1"])
    let gateway = try world.serve()
    let hold = world.root + "/release"
    let first = world.root + "/first"
    let rest = world.root + "/rest"
    let path = world.root + "/stream.py"
    try gwWriteFile(path, Array(GWScripts.stream.utf8), mode: 0o600)
    let client = try GWProcess(
      [GWFixtures.python, path, String(gateway.port), token, first, rest],
      environment: ["PATH": "/usr/bin:/bin", "GW_HEADERS": "x-fake-hold-until:\(hold)"], scratch: world.root)
    XCTAssertTrue(
      gwEventually(seconds: 20) { access(first, F_OK) == 0 || client.hasExited }, "the stream did not start")
    assertLimited(try send(gateway, token), "1 concurrent requests", retry: 1...5)
    try gwWriteFile(hold, [], mode: 0o600)
    XCTAssertEqual(client.finish(seconds: 30).status, 0)
    XCTAssertEqual(try send(gateway, token).status, 200, "the slot was not given back")
  }

  func testALimitChangeTakesEffectWithoutARestart() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    XCTAssertEqual(try send(gateway, token).status, 200)
    try world.vaultOK(["agent-key", "limit", "bot", "--rpm", "1"])
    let statuses = try (0..<2).map { _ in try send(gateway, token).status }
    XCTAssertEqual(statuses.last, 429, "a new --rpm 1 did not apply to the running gateway: \(statuses)")
    try world.vaultOK(["agent-key", "limit", "bot", "--rpm", "none"])
    XCTAssertEqual(try send(gateway, token).status, 200, "--rpm none did not clear the limit")
  }

  func testDailyCountsSurviveARestart() throws {
    let token = try world.agentKey("bot", ["--provider", "openai", "--requests-per-day", "2"])
    let gateway = try world.serve()
    XCTAssertEqual(try send(gateway, token).status, 200)
    XCTAssertEqual(try send(gateway, token).status, 200)
    XCTAssertEqual(gateway.terminate(), 0)
    // Between the two, a run appends its use to the usage log, and a power cut leaves NUL bytes
    // at the log's end: neither may cost the snapshot's daily counts.
    let run = try world.vault(
      ["run", "--", "/bin/true"], environment: ["VAULT_AGENT_KEY": token, "VAULT_PASSPHRASE_FILE": nil])
    XCTAssertEqual(run.status, 0, run.stderrText)
    let log = world.statePath + ".log"
    try gwWriteFile(log, try gwReadFile(log) + [UInt8](repeating: 0, count: 4096), mode: 0o600)
    let again = try world.serve()
    assertLimited(try send(again, token), "2 requests per day", retry: 1...86_400)
    XCTAssertEqual(access(world.statePath + ".bad", F_OK), -1, "the state file was set aside")
  }
}
