import Foundation
import VaultCore
import VaultCrypto
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Hand edits to an agent's record: its expiry and scope are bound into its slot, so an edit
/// (even with the file's checksum made good again) makes the token fail with exit 6 and read
/// nothing; any edit without the checksum is exit 6 too.
final class AgentKeyTamperTests: XCTestCase {
  private struct Fixture {
    let sandbox: VaultSandbox
    let values: [String: String]
    /// `narrow`: --model gpt-4o, so it reads OPENAI_MAIN only.
    let token: String
    let original: [UInt8]
  }

  private func makeFixture(narrowOptions: [String] = ["--model", "gpt-4o"]) throws -> Fixture {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    var values: [String: String] = [:]
    for (name, options) in [
      ("OPENAI_MAIN", ["--provider", "openai", "--model", "gpt-4o"]),
      ("ANTHROPIC_MAIN", ["--provider", "anthropic", "--model", "claude-3-5-sonnet"]),
    ] {
      values[name] = Agent.fakeValue(name.lowercased())
      try sandbox.addOK(name, value: values[name]!, options)
    }
    try sandbox.agentCreate("wide", ["--all"])
    let token = try sandbox.agentCreate("narrow", narrowOptions)
    XCTAssertEqual(try sandbox.agentReadable(token), ["OPENAI_MAIN"])
    try sandbox.agentCreate("after", ["--provider", "anthropic"])
    return Fixture(sandbox: sandbox, values: values, token: token, original: try sandbox.readVault())
  }

  /// Writes `tampered` as the vault, runs verify with the token alone, and checks it fails
  /// with `status` (exactly one error line, nothing on stdout, no secret), leaves the file as
  /// it found it, and that the token decrypts nothing in-process either.
  private func assertTokenFails(
    _ fixture: Fixture, tampered: [UInt8], status: Set<Int32> = [6], _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let sandbox = fixture.sandbox
    XCTAssertNotEqual(tampered, fixture.original, "\(what): nothing was edited", file: file, line: line)
    try writeFile(sandbox.vaultPath, tampered, mode: 0o600)
    let result = try sandbox.agentVerify(fixture.token)
    XCTAssertTrue(
      status.contains(result.status), "\(what): exit \(result.status): \(result.stderrText)", file: file, line: line)
    XCTAssertEqual(result.stdoutText, "", "\(what): verify printed to stdout", file: file, line: line)
    XCTAssertEqual(Robust.errorLineCount(result), 1, "\(what): \(result.stderrText)", file: file, line: line)
    assertNoLeak(result, [fixture.token] + Array(fixture.values.values), file: file, line: line)
    XCTAssertEqual(
      try readFile(sandbox.vaultPath), tampered, "\(what): verify changed the file", file: file, line: line)
    let values = try? Agent.readableValues(token: fixture.token, vaultPath: sandbox.vaultPath)
    XCTAssertTrue(
      values == nil, "\(what): the token still decrypts \(values?.keys.sorted() ?? [])", file: file, line: line)
  }

  /// The owner's full check refuses the edited file too (the MAC).
  private func assertOwnerVerifyFails(
    _ fixture: Fixture, _ what: String, file: StaticString = #filePath, line: UInt = #line
  )
    throws
  {
    let result = try fixture.sandbox.run(["verify"])
    XCTAssertEqual(result.status, 6, "\(what): vault verify: \(result.stderrText)", file: file, line: line)
    assertNoLeak(result, Array(fixture.values.values), file: file, line: line)
  }

  private static func laterYear(_ rfc3339: String) -> String {
    let year = Int(rfc3339.prefix(4)) ?? 2000
    return String(year + 5) + rfc3339.dropFirst(4)
  }

  private static func notAfter(in line: String) -> String {
    guard let range = line.range(of: "\"notAfter\":\"[^\"]*\"", options: .regularExpression) else { return "" }
    return String(line[range].dropFirst("\"notAfter\":\"".count).dropLast())
  }

  // MARK: Expiry and scope

  func testEditedExpiryBreaksTheSlot() throws {
    let fixture = try makeFixture()
    for (what, recompute) in [("checksum recomputed", true), ("checksum left", false)] {
      let extended = Agent.editingAgentLine(fixture.original, agent: "narrow", recomputeChecksum: recompute) { line in
        Agent.replacingString(member: "notAfter", in: line, with: Self.laterYear(Self.notAfter(in: line)))
      }
      try assertTokenFails(fixture, tampered: extended, "notAfter extended, \(what)")
      try assertOwnerVerifyFails(fixture, "notAfter extended, \(what)")
    }
    // Even a shorter (still future) expiry is an edit the slot catches.
    let shortened = Agent.editingAgentLine(fixture.original, agent: "narrow", recomputeChecksum: true) { line in
      let earlier = Timestamp(secondsSinceEpoch: Agent.seconds(Self.notAfter(in: line)) - 86_400)
      return Agent.replacingString(member: "notAfter", in: line, with: earlier.rfc3339)
    }
    try assertTokenFails(fixture, tampered: shortened, "notAfter a day earlier")
  }

  func testEditedScopeBreaksTheSlot() throws {
    let fixture = try makeFixture()
    let anthropicID = try VaultStore(path: fixture.sandbox.vaultPath).read().document.key(named: "ANTHROPIC_MAIN").id
    let edits: [(String, (String) -> String)] = [
      (
        "a model added",
        {
          $0.replacingOccurrences(of: "\"models\":[\"gpt-4o\"]", with: "\"models\":[\"gpt-4o\",\"claude-3-5-sonnet\"]")
        }
      ),
      ("all flipped to true", { $0.replacingOccurrences(of: "\"all\":false", with: "\"all\":true") }),
      ("a provider added", { $0.replacingOccurrences(of: "\"providers\":[]", with: "\"providers\":[\"anthropic\"]") }),
      ("a key added", { $0.replacingOccurrences(of: "\"keys\":[]", with: "\"keys\":[\"\(anthropicID)\"]") }),
      (
        "the model swapped",
        { $0.replacingOccurrences(of: "\"models\":[\"gpt-4o\"]", with: "\"models\":[\"claude-3-5-sonnet\"]") }
      ),
    ]
    for (what, edit) in edits {
      let tampered = Agent.editingAgentLine(fixture.original, agent: "narrow", recomputeChecksum: true, edit)
      try assertTokenFails(fixture, tampered: tampered, "scope: \(what)")
    }
    try assertOwnerVerifyFails(fixture, "scope edited")
    // The other agents' lines were not touched, and their tokens still work on the original.
    try writeFile(fixture.sandbox.vaultPath, fixture.original, mode: 0o600)
    XCTAssertEqual(try fixture.sandbox.agentReadable(fixture.token), ["OPENAI_MAIN"])
  }

  func testAnotherAgentsScopeCannotBeBorrowed() throws {
    let fixture = try makeFixture()
    // Copy the wide agent's scope into the narrow agent's line.
    let wideRange = try XCTUnwrap(Agent.agentLineRange(fixture.original, agent: "wide"))
    let wideLine = String(decoding: fixture.original[wideRange], as: UTF8.self)
    let scopePattern = "\"scope\":\\{[^}]*\\}"
    let wideScope = try XCTUnwrap(wideLine.range(of: scopePattern, options: .regularExpression).map { wideLine[$0] })
    let tampered = Agent.editingAgentLine(fixture.original, agent: "narrow", recomputeChecksum: true) { line in
      line.replacingOccurrences(of: scopePattern, with: String(wideScope), options: .regularExpression)
    }
    try assertTokenFails(fixture, tampered: tampered, "the wide agent's scope copied")
  }

  // MARK: Flipped bytes

  func testFlippedSlotByteFailsCleanly() throws {
    let fixture = try makeFixture()
    for recompute in [true, false] {
      let tampered = Agent.editingAgentLine(fixture.original, agent: "narrow", recomputeChecksum: recompute) {
        Agent.flippingBase64(member: "slot", in: $0)
      }
      try assertTokenFails(
        fixture, tampered: tampered, "slot byte flipped, checksum \(recompute ? "recomputed" : "left")")
    }
    try assertOwnerVerifyFails(fixture, "slot byte flipped")
  }

  func testAnyFlippedByteWithoutTheChecksumIsAnIntegrityError() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let bytes = fixture.original
    let lineRange = try XCTUnwrap(Agent.agentLineRange(bytes, agent: "narrow"))
    // The MAC needs the master key: a token cannot check it, the owner's `vault verify` does.
    let covered = bytes.count - Robust.suffixLength
    let mac = (covered + Robust.macOffsetInSuffix)..<(covered + Robust.macOffsetInSuffix + 64)
    var generator = Robust.SeededGenerator(seed: 0xA6E7_2024)
    var positions = Set(stride(from: lineRange.lowerBound, to: lineRange.upperBound, by: max(1, lineRange.count / 30)))
    while positions.count < 60 {
      let position = Int.random(in: 0..<bytes.count, using: &generator)
      if !mac.contains(position) { positions.insert(position) }
    }
    var problems: [String] = []
    for position in positions.sorted() {
      var tampered = bytes
      let original = bytes[position]
      let alphanumeric = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
      tampered[position] =
        alphanumeric.contains(original)
        ? alphanumeric.filter { $0 != original }.randomElement(using: &generator)! : original ^ 0x01
      try writeFile(sandbox.vaultPath, tampered, mode: 0o600)
      let result = try sandbox.agentVerify(fixture.token)
      let place = "byte \(position) (\(position - lineRange.lowerBound) into the agent's line)"
      if result.status != 6 { problems.append("\(place): exit \(result.status): \(result.stderrText)") }
      if !result.stdout.isEmpty { problems.append("\(place): printed to stdout") }
      if Robust.errorLineCount(result) != 1 { problems.append("\(place): \(result.stderrText)") }
      if contains(result.allOutput, Array(fixture.token.utf8))
        || fixture.values.values.contains(where: { contains(result.allOutput, Array($0.utf8)) })
      {
        problems.append("\(place): a secret in the output")
      }
    }
    XCTAssertEqual(problems, [], "\(problems.count) of \(positions.count) flipped bytes")
    // And a flipped MAC digit is the owner's to catch.
    var macFlipped = bytes
    macFlipped[mac.lowerBound] = macFlipped[mac.lowerBound] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
    try writeFile(sandbox.vaultPath, macFlipped, mode: 0o600)
    try assertOwnerVerifyFails(fixture, "MAC digit flipped")
  }

  // MARK: After expiry and revocation

  /// An expired token cannot be revived by moving its expiry, nor a revoked one by clearing
  /// its revocation.
  func testExpiredOrRevokedTokensCannotBeRevivedByHand() throws {
    let fixture = try makeFixture(narrowOptions: ["--model", "gpt-4o", "--expires", "3s"])
    let sandbox = fixture.sandbox
    let revokedToken = try sandbox.agentCreate("revoked", ["--key", "ANTHROPIC_MAIN"])
    let expires = try sandbox.agentShowJSON("narrow")["expires"] as? String ?? "?"
    while Int64(Date().timeIntervalSince1970) <= Agent.seconds(expires) { usleep(200_000) }
    // Expired, with its slot still in the file (no owner write since): refused with 11...
    let current = try sandbox.readVault()
    assertFailure(try sandbox.agentVerify(fixture.token), 11, mentioning: ["expired on \(expires)"])
    // ...and with the expiry moved a year on, refused as an edited file.
    let extended = Agent.editingAgentLine(current, agent: "narrow", recomputeChecksum: true) { line in
      Agent.replacingString(member: "notAfter", in: line, with: Self.laterYear(Self.notAfter(in: line)))
    }
    try assertTokenFails(
      Fixture(sandbox: sandbox, values: fixture.values, token: fixture.token, original: current), tampered: extended,
      "expired token's notAfter extended")

    // Revoked (its slot purged): un-revoking it by hand reads nothing.
    try writeFile(sandbox.vaultPath, current, mode: 0o600)
    XCTAssertEqual(try sandbox.run(["agent-key", "revoke", "revoked", "--yes"]).status, 0)
    let revoked = try sandbox.readVault()
    let unrevoked = Agent.editingAgentLine(revoked, agent: "revoked", recomputeChecksum: true) { line in
      guard let range = line.range(of: "\"revoked\":\"[^\"]*\"", options: .regularExpression) else { return line }
      return line.replacingCharacters(in: range, with: "\"revoked\":null")
    }
    let revokedFixture = Fixture(sandbox: sandbox, values: fixture.values, token: revokedToken, original: revoked)
    try assertTokenFails(revokedFixture, tampered: unrevoked, status: [11], "revocation cleared by hand")
  }

  /// The end of a rotated-out token's grace period is an expiry too: clearing it by hand (the
  /// checksum made good) must not bring the old token back once its grace has passed.
  func testRotatedOutTokenCannotBeRevivedByClearingItsGraceEnd() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let rotatedOut = try sandbox.agentCreate("rotated", ["--key", "ANTHROPIC_MAIN"])
    let rotation = try sandbox.run(["agent-key", "rotate", "rotated", "--grace", "2s"])
    XCTAssertEqual(rotation.status, 0, rotation.stderrText)
    let graceEnd = Int64(Date().timeIntervalSince1970) + 2
    while Int64(Date().timeIntervalSince1970) <= graceEnd { usleep(200_000) }
    let current = try sandbox.readVault()
    assertFailure(try sandbox.agentVerify(rotatedOut), 11, mentioning: ["access not permitted"])
    let graceCleared = Agent.editingAgentLine(current, agent: "rotated", recomputeChecksum: true) { line in
      guard let range = line.range(of: "\"retireAt\":\"[^\"]*\"", options: .regularExpression) else { return line }
      return line.replacingCharacters(in: range, with: "\"retireAt\":null")
    }
    try assertTokenFails(
      Fixture(sandbox: sandbox, values: fixture.values, token: rotatedOut, original: current), tampered: graceCleared,
      status: [6, 11], "grace end of a rotated-out token cleared")
  }
}
