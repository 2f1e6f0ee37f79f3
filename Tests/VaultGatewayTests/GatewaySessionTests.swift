import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault run --gateway`: the child gets a session token and the gateway's address, never the
/// agent key or a provider key, and its token dies with it.
final class GatewaySessionTests: GatewayTestCase {
  override func setUpWithError() throws {
    try super.setUpWithError()
    try world.setUp()
  }

  /// `VAULT_AGENT_KEY=token vault run --gateway -- python3 agent.py OUT`, with no passphrase.
  private func runAgent(_ token: String, script: String = GWScripts.agent, _ arguments: [String]) throws -> GWProcess {
    let path = world.root + "/agent-\(UUID().uuidString.prefix(6)).py"
    try gwWriteFile(path, Array(script.utf8), mode: 0o600)
    var environment = world.environment
    environment["VAULT_PASSPHRASE_FILE"] = nil
    environment["VAULT_AGENT_KEY"] = token
    return try GWProcess(
      [GWFixtures.vault, "run", "--gateway", "--", GWFixtures.python, path] + arguments, environment: environment,
      scratch: world.root)
  }

  func testTheChildHoldsASessionTokenThatWorksUntilItExits() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let out = world.root + "/agent.json"
    let run = try runAgent(token, [out])
    let result = run.finish(seconds: 60)
    XCTAssertEqual(result.status, 0, result.stderrText)
    let report = try XCTUnwrap(gwJSON((try? gwReadFile(out)) ?? []), "the agent wrote no report")
    XCTAssertEqual(report["status"] as? Int, 200, report["body"] as? String ?? "")
    let environ = Array((report["environ"] as? String ?? "").utf8)
    XCTAssertFalse(environ.isEmpty)
    XCTAssertFalse(gwContains(environ, "vk_"), "the child's environment holds an agent key")
    XCTAssertFalse(gwContainsAnyPiece(of: token, in: environ), "the child's environment holds the agent key")
    for (provider, value) in world.keys {
      XCTAssertFalse(gwContains(environ, value), "the child's environment holds the \(provider) key")
    }
    XCTAssertFalse(gwContains(environ, GWWorld.passphrase), "the child's environment holds the passphrase")
    let env = report["env"] as? [String: String] ?? [:]
    XCTAssertEqual(env["OPENAI_BASE_URL"], "http://127.0.0.1:\(gateway.port)/openai")
    let session = try XCTUnwrap(env["OPENAI_API_KEY"])
    XCTAssertTrue(session.hasPrefix("vs_"), "OPENAI_API_KEY is not a session token")
    XCTAssertNil(env["VAULT_AGENT_KEY"])
    // The upstream got the real key for the child's request.
    XCTAssertEqual(world.upstream!.requests.last?.header("authorization"), "Bearer " + world.keys["openai"]!)
    XCTAssertFalse(gwContains(world.upstream!.rawLog, "vs_"), "the session token reached the upstream")
    // The child has exited: its session token no longer works.
    var last = 0
    let refused = gwEventually(seconds: 5) {
      last =
        (try? world.curl(
          gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(session)"],
          body: #"{"model":"gpt-4o"}"#
        ).status) ?? 0
      return last == 401
    }
    XCTAssertTrue(refused, "the session token still works after its run ended (status \(last))")
    XCTAssertFalse(gwContains(Array(gateway.log.utf8), session), "the gateway logged the session token")
  }

  func testASessionEndsWhenItsAgentKeyIsRevoked() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let go = world.root + "/go"
    let out = world.root + "/statuses"
    // Two requests with the session token; the second after `go` exists.
    let script = """
      import http.client, json, os, sys, time, urllib.parse
      out, go = sys.argv[1], sys.argv[2]
      base = urllib.parse.urlsplit(os.environ["OPENAI_BASE_URL"])
      def ask():
          connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
          connection.request("POST", base.path + "/chat/completions", body='{"model":"gpt-4o"}',
                             headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
          return connection.getresponse().status
      first = ask()
      with open(out + ".1", "w") as file: file.write(str(first))
      deadline = time.monotonic() + 30
      while not os.path.exists(go) and time.monotonic() < deadline: time.sleep(0.02)
      with open(out, "w") as file: file.write("%d %d" % (first, ask()))
      """
    let run = try runAgent(token, script: script, [out, go])
    XCTAssertTrue(gwEventually(seconds: 20) { access(out + ".1", F_OK) == 0 || run.hasExited })
    try world.vaultOK(["agent-key", "revoke", "bot", "--yes"])
    try gwWriteFile(go, [], mode: 0o600)
    let result = run.finish(seconds: 60)
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(String(decoding: (try? gwReadFile(out)) ?? [], as: UTF8.self), "200 401")
    _ = gateway
  }

  func testWithoutAGatewayTheRunFailsWithAHint() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let marker = world.root + "/ran"
    var environment = world.environment
    environment["VAULT_PASSPHRASE_FILE"] = nil
    environment["VAULT_AGENT_KEY"] = token
    let result = try GWProcess(
      [GWFixtures.vault, "run", "--gateway", "--", "/usr/bin/touch", marker], environment: environment,
      scratch: world.root
    ).finish(seconds: 30)
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderrText.contains("vault serve"), result.stderrText)
    XCTAssertEqual(access(marker, F_OK), -1, "the program ran without a session")
  }

  func testARevokedAgentKeyGetsNoSession() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    try world.vaultOK(["agent-key", "revoke", "bot", "--yes"])
    _ = try world.serve()
    let marker = world.root + "/ran"
    var environment = world.environment
    environment["VAULT_PASSPHRASE_FILE"] = nil
    environment["VAULT_AGENT_KEY"] = token
    let result = try GWProcess(
      [GWFixtures.vault, "run", "--gateway", "--", "/usr/bin/touch", marker], environment: environment,
      scratch: world.root
    ).finish(seconds: 30)
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderrText.contains("access not permitted"), result.stderrText)
    XCTAssertFalse(gwContainsAnyPiece(of: token, in: result.stderr), "the error shows the token")
    XCTAssertEqual(access(marker, F_OK), -1, "the program ran without a session")
  }
}
