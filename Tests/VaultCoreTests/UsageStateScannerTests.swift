import XCTest

@testable import VaultCore

/// The fold's byte-level update of the usage snapshot must write exactly what the general path
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

  /// What the general path writes for `tally` folded into `state`.
  private func expected(_ state: UsageState, _ tally: UsageTally, fold: Int64) -> [UInt8] {
    var state = state
    state.apply(tally)
    return state.encoded(fold: fold)
  }

  /// One use at `now` of `agent` and `keys`, and for `repeats` > 1 more of the same later.
  private func tally(_ agent: RecordID?, _ keys: [RecordID], now: Int64, repeats: Int = 1) -> UsageTally {
    var sorted = keys.sorted()
    sorted.removeDuplicatesInOrder()
    var tally = UsageTally()
    for index in 0..<repeats { tally.add(agent: agent, keys: sorted, at: now + Int64(index)) }
    return tally
  }

  func testTheByteLevelFoldWritesWhatTheGeneralPathWrites() throws {
    let now: Int64 = 1_900_000_000
    for (agents, keys) in [(0, 0), (1, 0), (0, 1), (3, 40), (10, 1_000)] {
      let state = try randomState(agents: agents, keys: keys)
      let existingKeys = state.keys.keys.compactMap { RecordID(hex: $0) }
      let existingAgent = state.agents.keys.first.flatMap { RecordID(hex: $0) }
      let choices: [(RecordID?, [RecordID], Int)] = [
        (nil, [], 1), (existingAgent, Array(existingKeys.prefix(5)), 1), (try randomID(), existingKeys, 1),
        (existingAgent, [try randomID(), try randomID()] + existingKeys.suffix(3), 3),
        (try randomID(), try (0..<20).map { _ in try randomID() }, 2),
      ]
      for (from, bytes) in [("version 3", state.encoded(fold: 41)), ("version 2", versionTwo(state))] {
        for (agent, keys, repeats) in choices {
          let uses = tally(agent, keys, now: now, repeats: repeats)
          let what = "\(from), \(agents) agents, \(keys.count) keys, \(repeats) uses"
          let updated = try XCTUnwrap(
            UsageStateScanner.folding(uses, into: bytes, fold: 42), "\(what): the writer's own form was not read")
          XCTAssertEqual(
            String(decoding: updated, as: UTF8.self), String(decoding: expected(state, uses, fold: 42), as: UTF8.self),
            what)
          XCTAssertEqual(try UsageState.decodeSnapshot(updated).fold, 42, what)
          XCTAssertEqual(try UsageState.decode(updated), try UsageState.decode(expected(state, uses, fold: 42)), what)
        }
      }
    }
  }

  /// `state` as version 2 wrote it: the same lines under a header without a fold number.
  private func versionTwo(_ state: UsageState) -> [UInt8] {
    let text = String(decoding: state.encoded(fold: 0), as: UTF8.self)
    return Array(text.replacingOccurrences(of: "llm-vault-usage 3 0\n", with: "llm-vault-usage 2\n").utf8)
  }

  func testAnythingOutOfTheWritersFormIsLeftToTheGeneralParser() throws {
    let a = "0123456789abcdef0123456789abcdef"
    let b = "1123456789abcdef0123456789abcdef"
    let numbers = " 1 2 3 4 5 6 7 8 9 10 11"
    let header = "llm-vault-usage 3 7\n"
    let uses = tally(nil, [RecordID(hex: a)!], now: 5)
    for accepted in [header, "llm-vault-usage 2\n", "llm-vault-usage 3 0\n"] {
      XCTAssertNotNil(
        UsageStateScanner.folding(
          uses, into: Array((accepted + "key \(a)\(numbers)\nkey \(b)\(numbers)\n").utf8), fold: 8), accepted)
    }
    for (what, text) in [
      ("version 1", "llm-vault-usage 1\nkey \(a) 1 2\n"),
      ("a fold number with a leading zero", "llm-vault-usage 3 07\nkey \(a)\(numbers)\n"),
      ("no fold number", "llm-vault-usage 3\nkey \(a)\(numbers)\n"),
      ("a fold number past Int64.max", "llm-vault-usage 3 9223372036854775808\nkey \(a)\(numbers)\n"),
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
      XCTAssertNil(UsageStateScanner.folding(uses, into: Array(text.utf8), fold: 8), what)
    }
  }

  /// Uses past Int64.max stay at Int64.max, through the log as through a run.
  func testAFoldSaturatesTheUseCount() throws {
    let a = try randomID()
    var state = UsageState()
    state.keys[a.description] = UsageState.Record(lastUsed: Timestamp(secondsSinceEpoch: 1), uses: .max - 1)
    let folded = try XCTUnwrap(
      UsageStateScanner.folding(tally(nil, [a], now: 9, repeats: 3), into: state.encoded(fold: 1), fold: 2))
    let record = try UsageState.decode(folded).keys[a.description]
    XCTAssertEqual(record?.uses, .max)
    XCTAssertEqual(record?.lastUsed.secondsSinceEpoch, 11, "the last of the uses")
  }
}
