import XCTest

@testable import VaultCore

/// `vault run`'s byte-level update of the usage state must write exactly what the general path
/// (decode, count, encode) writes, and give up on anything not in the form the writer uses.
final class UsageStateScannerTests: XCTestCase {
  private func randomID() throws -> RecordID { try RecordID.random() }

  private func randomState(agents: Int, keys: Int) throws -> UsageState {
    var state = UsageState()
    for index in 0..<(agents + keys) {
      var record = UsageState.Record(
        lastUsed: Timestamp(secondsSinceEpoch: Int64.random(in: 0...2_000_000_000)),
        uses: index % 7 == 0 ? .max : Int64.random(in: 0...1_000_000))
      record.gateway = GatewayCounts(
        requests: Int64.random(in: 0...99), succeeded: 1, clientErrors: 0, serverErrors: 10, tokensIn: .max,
        tokensOut: 12_345)
      record.day = Int64.random(in: 0...30_000)
      record.dayRequests = 7
      if index < agents {
        state.agents[try randomID().description] = record
      } else {
        state.keys[try randomID().description] = record
      }
    }
    return state
  }

  /// What the general path writes for one use.
  private func expected(_ state: UsageState, agent: RecordID?, keys: [RecordID], now: Timestamp) -> [UInt8] {
    var state = state
    func bump(_ record: inout UsageState.Record?) {
      let uses = record?.uses ?? 0
      if record == nil { record = UsageState.Record(lastUsed: now, uses: 0) }
      record?.lastUsed = now
      record?.uses = uses == .max ? .max : uses + 1
    }
    if let agent { bump(&state.agents[agent.description]) }
    for id in keys { bump(&state.keys[id.description]) }
    return state.encoded()
  }

  func testTheByteLevelUpdateWritesWhatTheGeneralPathWrites() throws {
    let now = Timestamp(secondsSinceEpoch: 1_900_000_000)
    for (agents, keys) in [(0, 0), (1, 0), (0, 1), (3, 40), (10, 1_000)] {
      let state = try randomState(agents: agents, keys: keys)
      let bytes = state.encoded()
      let existingKeys = state.keys.keys.compactMap { RecordID(hex: $0) }
      let existingAgent = state.agents.keys.first.flatMap { RecordID(hex: $0) }
      let choices: [(RecordID?, [RecordID])] = [
        (nil, []), (existingAgent, Array(existingKeys.prefix(5))), (try randomID(), existingKeys),
        (existingAgent, [try randomID(), try randomID()] + existingKeys.suffix(3)),
        (try randomID(), try (0..<20).map { _ in try randomID() }),
      ]
      for (agent, keys) in choices {
        let updated = try XCTUnwrap(
          UsageStateScanner.recordingUse(in: bytes, agentID: agent, keyIDs: keys, now: now.secondsSinceEpoch),
          "\(agents) agents, \(keys.count) keys: the writer's own form was not read")
        XCTAssertEqual(
          String(decoding: updated, as: UTF8.self),
          String(decoding: expected(state, agent: agent, keys: keys, now: now), as: UTF8.self),
          "\(agents) agents, \(keys.count) keys")
        XCTAssertEqual(
          try UsageState.decode(updated), try UsageState.decode(expected(state, agent: agent, keys: keys, now: now)))
      }
    }
  }

  func testAnythingOutOfTheWritersFormIsLeftToTheGeneralParser() throws {
    let a = "0123456789abcdef0123456789abcdef"
    let b = "1123456789abcdef0123456789abcdef"
    let numbers = " 1 2 3 4 5 6 7 8 9 10 11"
    let header = "llm-vault-usage 2\n"
    let id = RecordID(hex: a)!
    XCTAssertNotNil(
      UsageStateScanner.recordingUse(
        in: Array((header + "key \(a)\(numbers)\nkey \(b)\(numbers)\n").utf8), agentID: nil, keyIDs: [id], now: 5))
    for (what, text) in [
      ("version 1", "llm-vault-usage 1\nkey \(a) 1 2\n"),
      ("out of order", header + "key \(b)\(numbers)\nkey \(a)\(numbers)\n"),
      ("twice", header + "key \(a)\(numbers)\nkey \(a)\(numbers)\n"),
      ("a key before an agent", header + "key \(a)\(numbers)\nagent \(b)\(numbers)\n"),
      ("a leading zero", header + "key \(a) 01 2 3 4 5 6 7 8 9 10 11\n"),
      ("a sign", header + "key \(a) +1 2 3 4 5 6 7 8 9 10 11\n"),
      ("a negative number", header + "key \(a) -1 2 3 4 5 6 7 8 9 10 11\n"),
      ("ten numbers", header + "key \(a) 1 2 3 4 5 6 7 8 9 10\n"),
      ("twelve numbers", header + "key \(a)\(numbers) 12\n"),
      ("over Int64.max", header + "key \(a) 9223372036854775808 2 3 4 5 6 7 8 9 10 11\n"),
      ("an uppercase id", header + "key \(a.uppercased())\(numbers)\n"),
      ("a blank line", header + "\nkey \(a)\(numbers)\n"),
      ("no final newline", header + "key \(a)\(numbers)"),
      ("an unknown kind", header + "token \(a)\(numbers)\n"),
      ("two spaces", header + "key \(a)  1 2 3 4 5 6 7 8 9 10 11\n"),
    ] {
      XCTAssertNil(
        UsageStateScanner.recordingUse(in: Array(text.utf8), agentID: nil, keyIDs: [id], now: 5), what)
    }
  }
}
