import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault serve` end to end: who may call, with which credential, and what the upstream gets.
final class GatewayAuthTests: GatewayTestCase {
  override func setUpWithError() throws {
    try super.setUpWithError()
    // OPENAI_API_KEY serves two models; agents below are scoped to one of them or more.
    try world.setUp(providers: ["openai", "anthropic", "google"], openAIModels: ["gpt-4o", "gpt-4o-mini"])
  }

  private let chat = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#

  func testUpstreamGetsTheProviderKeyWhileTheClientHoldsOnlyTheAgentKey() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let response = try world.curl(
      gateway, "/openai/chat/completions?trace=1", headers: ["Authorization: Bearer \(token)", "X-Custom: kept"],
      body: chat)
    XCTAssertEqual(response.status, 200, response.bodyText)
    XCTAssertEqual(response.json?["model"] as? String, "gpt-4o")
    let requests = world.upstream!.requests
    XCTAssertEqual(requests.count, 1)
    let seen = try XCTUnwrap(requests.first)
    XCTAssertEqual(seen.path, "/v1/chat/completions?trace=1", "route, base path and query unchanged")
    XCTAssertEqual(seen.headers(named: "authorization"), ["Bearer " + world.keys["openai"]!], "the real key, once")
    XCTAssertEqual(seen.header("x-custom"), "kept", "end-to-end headers are forwarded")
    XCTAssertFalse(gwContains(world.upstream!.rawLog, "vk_"), "the agent key reached the upstream")
    XCTAssertFalse(gwContains(response.body, world.keys["openai"]!), "the client saw the provider key")
  }

  func testEachAuthStyleIsAcceptedAndReplacedByTheProvidersOwn() throws {
    let token = try world.agentKey("bot", ["--all"])
    let gateway = try world.serve()
    struct Case {
      var name: String
      var target: String
      var header: String?
      var upstreamPath: String
      var upstreamHeader: String
      var upstreamValue: String
    }
    let openAI = world.keys["openai"]!
    let anthropic = world.keys["anthropic"]!
    let google = world.keys["google"]!
    let cases = [
      Case(
        name: "bearer", target: "/openai/chat/completions", header: "Authorization: Bearer \(token)",
        upstreamPath: "/v1/chat/completions", upstreamHeader: "authorization", upstreamValue: "Bearer " + openAI),
      Case(
        name: "x-api-key", target: "/anthropic/v1/messages", header: "x-api-key: \(token)",
        upstreamPath: "/v1/messages", upstreamHeader: "x-api-key", upstreamValue: anthropic),
      Case(
        name: "x-goog-api-key", target: "/google/v1beta/models/gemini-1.5-flash:generateContent",
        header: "x-goog-api-key: \(token)", upstreamPath: "/v1beta/models/gemini-1.5-flash:generateContent",
        upstreamHeader: "x-goog-api-key", upstreamValue: google),
      Case(
        name: "api-key", target: "/openai/chat/completions", header: "api-key: \(token)",
        upstreamPath: "/v1/chat/completions", upstreamHeader: "authorization", upstreamValue: "Bearer " + openAI),
      Case(
        name: "?key=", target: "/google/v1beta/models/gemini-1.5-flash:generateContent?alt=json&key=\(token)",
        header: nil, upstreamPath: "/v1beta/models/gemini-1.5-flash:generateContent?alt=json",
        upstreamHeader: "x-goog-api-key", upstreamValue: google),
      Case(
        name: "/v1 by model", target: "/v1/chat/completions", header: "Authorization: Bearer \(token)",
        upstreamPath: "/v1/chat/completions", upstreamHeader: "authorization", upstreamValue: "Bearer " + openAI),
    ]
    for (index, test) in cases.enumerated() {
      let response = try world.curl(gateway, test.target, headers: test.header.map { [$0] } ?? [], body: chat)
      XCTAssertEqual(response.status, 200, "\(test.name): \(response.errorMessage ?? response.bodyText)")
      let requests = world.upstream!.requests
      guard requests.count == index + 1, let seen = requests.last else {
        XCTFail("\(test.name): the upstream saw \(requests.count) requests, expected \(index + 1)")
        continue
      }
      XCTAssertEqual(seen.path, test.upstreamPath, test.name)
      XCTAssertEqual(
        seen.headers(named: test.upstreamHeader), [test.upstreamValue], "\(test.name): the provider's own auth header")
      for name in ["authorization", "x-api-key", "x-goog-api-key", "api-key"] where name != test.upstreamHeader {
        XCTAssertNil(seen.header(name), "\(test.name): \(name) reached the upstream")
      }
    }
    XCTAssertFalse(gwContains(world.upstream!.rawLog, "vk_"), "an agent key reached the upstream")
  }

  func testAccessNotPermittedIs401WithItsReasonInTheProvidersShape() throws {
    let revoked = try world.agentKey("gone", ["--all"])
    let expiring = try world.agentKey("brief", ["--all", "--expires", "1s"])
    let good = try world.agentKey("good", ["--all"])
    try world.vaultOK(["agent-key", "revoke", "gone", "--yes"])
    let unknown = String(decoding: try AgentToken.generate().text.copyBytes(), as: UTF8.self)
    var malformed = Array(good)
    malformed[malformed.count - 1] = malformed.last == "A" ? "B" : "A"  // checksum no longer matches
    let gateway = try world.serve()
    // Let the short-lived key expire (its expiry is in whole seconds).
    usleep(2_100_000)

    let cases: [(String, String, String)] = [
      ("malformed", String(malformed), "malformed"),
      ("garbage", "vk_notatoken", "malformed"),
      ("unknown", unknown, "no such agent key"),
      ("revoked", revoked, "revoked"),
      ("expired", expiring, "expired"),
    ]
    for (name, token, reason) in cases {
      let response = try world.curl(
        gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
      XCTAssertEqual(response.status, 401, "\(name): \(response.bodyText)")
      let error = (response.json?["error"] as? [String: Any]) ?? [:]
      let message = error["message"] as? String ?? ""
      XCTAssertTrue(message.hasPrefix("access not permitted"), "\(name): \(message)")
      XCTAssertTrue(message.contains(reason), "\(name): the reason is not named: \(message)")
      XCTAssertEqual(error["code"] as? String, "access_not_permitted", name)
      XCTAssertFalse(gwContainsAnyPiece(of: token, in: response.body), "\(name): the token is in the error body")
    }
    // No credential at all.
    let none = try world.curl(gateway, "/openai/chat/completions", body: chat)
    XCTAssertEqual(none.status, 401)
    // The same refusal in Anthropic's and Google's shapes.
    let anthropic = try world.curl(
      gateway, "/anthropic/v1/messages", headers: ["x-api-key: \(revoked)"], body: #"{"model":"claude-3-5-sonnet"}"#)
    XCTAssertEqual(anthropic.status, 401)
    XCTAssertEqual(anthropic.json?["type"] as? String, "error", anthropic.bodyText)
    XCTAssertEqual((anthropic.json?["error"] as? [String: Any])?["type"] as? String, "authentication_error")
    XCTAssertTrue(anthropic.errorMessage?.contains("revoked") == true, anthropic.bodyText)
    let google = try world.curl(
      gateway, "/google/v1beta/models/gemini-1.5-flash:generateContent", headers: ["x-goog-api-key: \(unknown)"],
      body: "{}")
    XCTAssertEqual(google.status, 401)
    let googleError = (google.json?["error"] as? [String: Any]) ?? [:]
    XCTAssertEqual(googleError["code"] as? Int, 401, google.bodyText)
    XCTAssertEqual(googleError["status"] as? String, "UNAUTHENTICATED")
    XCTAssertEqual(world.upstream!.requests.count, 0, "a refused request reached the upstream")
    // The good key still works on the same gateway.
    XCTAssertEqual(
      try world.curl(gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(good)"], body: chat)
        .status,
      200)
  }

  func testPermissionDeniedIs403ForAProviderOutsideTheScope() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let response = try world.curl(
      gateway, "/anthropic/v1/messages", headers: ["x-api-key: \(token)"], body: #"{"model":"claude-3-5-sonnet"}"#)
    XCTAssertEqual(response.status, 403, response.bodyText)
    XCTAssertEqual(response.json?["type"] as? String, "error", "Anthropic's error shape")
    XCTAssertEqual((response.json?["error"] as? [String: Any])?["type"] as? String, "permission_error")
    XCTAssertTrue(response.errorMessage?.hasPrefix("permission denied") == true, response.bodyText)
    let google = try world.curl(
      gateway, "/google/v1beta/models/gemini-1.5-flash:generateContent", headers: ["x-goog-api-key: \(token)"],
      body: "{}")
    XCTAssertEqual(google.status, 403, google.bodyText)
    XCTAssertEqual((google.json?["error"] as? [String: Any])?["status"] as? String, "PERMISSION_DENIED")
    XCTAssertEqual(world.upstream!.requests.count, 0, "a refused request reached the upstream")
  }

  func testPermissionDeniedIs403ForAModelOutsideTheScope() throws {
    let token = try world.agentKey("bot", ["--model", "gpt-4o"])
    let gateway = try world.serve()
    let allowed = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
    XCTAssertEqual(allowed.status, 200, allowed.bodyText)
    let other = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"],
      body: #"{"model":"gpt-3.5-turbo","messages":[]}"#)
    XCTAssertEqual(other.status, 403, other.bodyText)
    XCTAssertEqual((other.json?["error"] as? [String: Any])?["code"] as? String, "permission_denied")
    XCTAssertTrue(other.errorMessage?.hasPrefix("permission denied") == true, other.bodyText)
    XCTAssertEqual(world.upstream!.requests.count, 1, "only the in-scope request reaches the upstream")
  }

  /// "A key readable only through a model scope serves only the models of that scope"
  /// (AgentAuthenticator / RequestPipeline): a key linked to two models, an agent scoped to one.
  func testAModelScopeDoesNotExtendToTheKeysOtherLinkedModels() throws {
    let token = try world.agentKey("bot", ["--model", "gpt-4o"])
    let gateway = try world.serve()
    let other = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"],
      body: #"{"model":"gpt-4o-mini","messages":[]}"#)
    XCTAssertEqual(other.status, 403, "a model outside the agent's scope was served: \(other.bodyText)")
    XCTAssertEqual(world.upstream!.requests.count, 0, "a model outside the scope reached the upstream")
  }

  func testAnUnknownProviderIs404() throws {
    let token = try world.agentKey("bot", ["--all"])
    let gateway = try world.serve()
    let unknown = try world.curl(
      gateway, "/nosuchprovider/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
    XCTAssertEqual(unknown.status, 404, "the issue: unknown provider is 404: \(unknown.bodyText)")
    XCTAssertNotNil(unknown.errorMessage, "an OpenAI-shaped error: \(unknown.bodyText)")
    XCTAssertEqual(world.upstream!.requests.count, 0)
  }

  func testAProviderWithNoBaseURLIs404() throws {
    // Azure has no default API base: only the owner can name the resource.
    try world.vaultOK(["add", "AZURE_KEY", "--provider", "azure"], stdin: Array("sk-fake-azure-1234567890\n".utf8))
    let token = try world.agentKey("bot", ["--all"])
    let gateway = try world.serve()
    let response = try world.curl(
      gateway, "/azure/openai/deployments/x/chat/completions", headers: ["api-key: \(token)"], body: chat)
    XCTAssertEqual(response.status, 404, response.bodyText)
    XCTAssertTrue(response.errorMessage?.contains("base-url") == true, response.bodyText)
    XCTAssertEqual(world.upstream!.requests.count, 0)
  }

  func testRevocationWhileTheGatewayRunsTakesEffectOnTheNextRequest() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let headers = ["Authorization: Bearer \(token)"]
    XCTAssertEqual(try world.curl(gateway, "/openai/chat/completions", headers: headers, body: chat).status, 200)
    XCTAssertEqual(try world.curl(gateway, "/openai/chat/completions", headers: headers, body: chat).status, 200)
    try world.vaultOK(["agent-key", "revoke", "bot", "--yes"])
    let after = try world.curl(gateway, "/openai/chat/completions", headers: headers, body: chat)
    XCTAssertEqual(after.status, 401, after.bodyText)
    XCTAssertTrue(after.errorMessage?.contains("revoked") == true, after.bodyText)
    XCTAssertFalse(gateway.process.hasExited, "the gateway restarted or stopped")
    XCTAssertEqual(world.upstream!.requests.count, 2)
  }

  func testAnEchoedProviderKeyIsMaskedBeforeItReachesTheAgent() throws {
    let token = try world.agentKey("bot", ["--all"])
    let gateway = try world.serve()
    for (target, header) in [
      ("/openai/chat/completions", "Authorization: Bearer \(token)"), ("/anthropic/v1/messages", "x-api-key: \(token)"),
    ] {
      let response = try world.curl(gateway, target, headers: [header, "x-fake-echo-auth: 1"], body: chat)
      XCTAssertEqual(response.status, 200, response.bodyText)
      XCTAssertNotNil(response.json?["echo"], "the fake echoed nothing")
      for (provider, value) in world.keys {
        XCTAssertFalse(
          gwContainsAnyPiece(of: value, in: response.body), "\(target): the \(provider) key reached the agent")
      }
      XCTAssertFalse(gwContains(response.body, "vk_"), "\(target): the agent key was forwarded and echoed")
    }
  }

  func testTheTokenNeverAppearsInTheLogOrInErrorBodies() throws {
    let token = try world.agentKey("bot", ["--provider", "openai", "--rpm", "2"])
    let logFile = world.root + "/gateway.log"
    var bodies: [UInt8] = []
    var logs: [UInt8] = []
    // One gateway per vault at a time (the control socket): first logging JSON to a file,
    // then text to stderr.
    for arguments in [["--log-format", "json", "--log-file", logFile], []] {
      let server = try world.serve(["--listen", "127.0.0.1:0"] + arguments)
      defer {
        XCTAssertEqual(server.terminate(), 0)
        logs += Array(server.log.utf8)
      }
      for (target, header) in [
        ("/openai/chat/completions", "Authorization: Bearer \(token)"),  // 200
        ("/anthropic/v1/messages", "x-api-key: \(token)"),  // 403
        ("/openai/chat/completions", "Authorization: Bearer \(token)x"),  // 401 malformed
        ("/openai/chat/completions?key=\(token)", "X-Nothing: 1"),  // 200
        ("/openai/chat/completions", "Authorization: Bearer \(token)"),  // 429 at some point
        ("/nosuch/x", "Authorization: Bearer \(token)"),  // 404
      ] {
        bodies += try world.curl(server, target, headers: [header], body: chat).body
      }
    }
    XCTAssertFalse(gwContainsAnyPiece(of: token, in: bodies), "a response body holds the token")
    XCTAssertFalse(gwContains(bodies, world.keys["openai"]!), "a response body holds the provider key")
    let logged = (try? gwReadFile(logFile)) ?? []
    let lines = logged.split(separator: 0x0A)
    for line in lines { XCTAssertNotNil(gwJSON(Array(line)), "not a JSON log line") }
    // The gateway's own notes ({"time","note"}) aside, one line per request.
    let requestLines = lines.filter { gwJSON(Array($0))?["status"] != nil }
    XCTAssertEqual(requestLines.count, 6, "one JSON line per request")
    let everything = logged + logs
    XCTAssertFalse(gwContainsAnyPiece(of: token, in: everything), "a log holds (part of) the token")
    for value in world.keys.values { XCTAssertFalse(gwContains(everything, value), "a log holds a provider key") }
    XCTAssertTrue(gwContains(logs, "agent=bot"), "the text log names the agent key")
    XCTAssertTrue(gwContains(logged, "\"agent\":\"bot\""), "the JSON log names the agent key")
  }

  /// `--log-format json`: a file a JSON-lines reader (jq, a log shipper) can read whole.
  func testTheJSONLogHoldsOnlyJSONLines() throws {
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let logFile = world.root + "/gateway.log"
    let gateway = try world.serve(["--listen", "127.0.0.1:0", "--log-format", "json", "--log-file", logFile])
    XCTAssertEqual(
      try world.curl(gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)"], body: chat)
        .status,
      200)
    XCTAssertEqual(gateway.terminate(), 0)
    let lines = ((try? gwReadFile(logFile)) ?? []).split(separator: 0x0A)
    XCTAssertFalse(lines.isEmpty)
    for line in lines where gwJSON(Array(line)) == nil {
      XCTFail("a line of the JSON log is not JSON: \(String(decoding: line.prefix(60), as: UTF8.self))")
    }
  }
}
