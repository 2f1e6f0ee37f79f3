import XCTest

@testable import VaultCore

/// The usage log's lines (docs/FORMAT.md, "Files beside the vault"): each use line counts once
/// when whole, and nothing when a crash or a power cut cut it short or left NUL bytes, without
/// ever costing the lines around it.
final class UsageLogTests: XCTestCase {
  private let a = RecordID(hex: "0123456789abcdef0123456789abcdef")!
  private let b = RecordID(hex: "1123456789abcdef0123456789abcdef")!
  private let agent = RecordID(hex: "f123456789abcdef0123456789abcdef")!

  private func tally(_ uses: [(RecordID?, [RecordID], Int64)]) -> UsageTally {
    var tally = UsageTally()
    for (agent, keys, epoch) in uses { tally.add(agent: agent, keys: keys, at: epoch) }
    return tally
  }

  func testTheLinesAreAsDocumented() {
    XCTAssertEqual(String(decoding: UsageLog.header(fold: 12), as: UTF8.self), "llm-vault-usage-log 1 12\n")
    XCTAssertEqual(
      String(decoding: UsageLog.line(agent: agent, keys: [a, b], at: 1_800_000_000, after: 0x0A), as: UTF8.self),
      "use 1800000000 \(agent) \(a) \(b) .\n")
    XCTAssertEqual(
      String(decoding: UsageLog.line(agent: nil, keys: [a], at: 7, after: UInt8(ascii: "x")), as: UTF8.self),
      "\nuse 7 - \(a) .\n", "after a line left unfinished, a new line first")
  }

  func testEveryWholeLineCountsOnce() {
    let log =
      UsageLog.header(fold: 3) + UsageLog.line(agent: agent, keys: [a, b], at: 10, after: 0x0A)
      + UsageLog.line(agent: nil, keys: [a], at: 20, after: 0x0A)
      + UsageLog.line(agent: agent, keys: [], at: 30, after: 0x0A)
    XCTAssertEqual(
      UsageLog.parse(log), .uses(fold: 3, tally([(agent, [a, b], 10), (nil, [a], 20), (agent, [], 30)])))
    let counted = tally([(agent, [a, b], 10), (nil, [a], 20), (agent, [], 30)])
    XCTAssertEqual(counted.keys[a], UsageTally.Uses(count: 2, lastUsed: 20))
    XCTAssertEqual(counted.keys[b], UsageTally.Uses(count: 1, lastUsed: 10))
    XCTAssertEqual(counted.agents[agent], UsageTally.Uses(count: 2, lastUsed: 30))
  }

  /// A log cut at every byte of its last line: the whole lines before count, the cut line does
  /// not, and a line appended after it (as `append` frames it) counts.
  func testALineCutAnywhereCountsNothingAndSpoilsNoOther() {
    let first = UsageLog.header(fold: 1) + UsageLog.line(agent: nil, keys: [a], at: 10, after: 0x0A)
    let second = UsageLog.line(agent: agent, keys: [a, b], at: 20, after: 0x0A)
    for cut in 0..<second.count {
      let torn = first + second[0..<cut]
      let what = "cut after \(cut) bytes"
      // The only prefix that counts is the whole line less its LF: all of it is there.
      let tornCounts = cut == second.count - 1
      XCTAssertEqual(
        UsageLog.parse(torn),
        .uses(fold: 1, tally([(nil, [a], 10)] + (tornCounts ? [(agent, [a, b], 20)] : []))), what)
      let next = UsageLog.line(agent: nil, keys: [b], at: 30, after: torn.last)
      XCTAssertEqual(
        UsageLog.parse(torn + next),
        .uses(fold: 1, tally([(nil, [a], 10)] + (tornCounts ? [(agent, [a, b], 20)] : []) + [(nil, [b], 30)])), what)
    }
  }

  func testNULBytesLeftByAPowerCutCountNothing() {
    let first = UsageLog.header(fold: 1) + UsageLog.line(agent: nil, keys: [a], at: 10, after: 0x0A)
    let zeros = [UInt8](repeating: 0, count: 4096)
    XCTAssertEqual(UsageLog.parse(first + zeros), .uses(fold: 1, tally([(nil, [a], 10)])))
    let spoiled = UsageLog.line(agent: nil, keys: [a, b], at: 20, after: 0x0A)
    var partly = spoiled
    for index in 40..<60 { partly[index] = 0 }
    XCTAssertEqual(UsageLog.parse(first + partly), .uses(fold: 1, tally([(nil, [a], 10)])), "NULs inside a line")
    let next = UsageLog.line(agent: nil, keys: [b], at: 30, after: zeros.last)
    XCTAssertEqual(UsageLog.parse(first + zeros + next), .uses(fold: 1, tally([(nil, [a], 10), (nil, [b], 30)])))
    XCTAssertEqual(UsageLog.parse(zeros), .empty, "a log of NULs only")
    XCTAssertEqual(UsageLog.parse([]), .empty)
  }

  func testAFirstLineThatIsNoHeaderMakesTheLogDamaged() {
    let line = UsageLog.line(agent: nil, keys: [a], at: 10, after: nil)
    for header in [
      "", "llm-vault-usage-log 1\n", "llm-vault-usage-log 1 \n", "llm-vault-usage-log 1 01\n",
      "llm-vault-usage-log 2 1\n", "llm-vault-usage-log 1 1", "llm-vault-usage 3 1\n",
      "llm-vault-usage-log 1 -1\n", "llm-vault-usage-log 1 9223372036854775808\n",
    ] {
      XCTAssertEqual(UsageLog.parse(Array(header.utf8) + line), .damaged, header)
    }
    XCTAssertEqual(UsageLog.parse([0, 0] + Array("llm-vault-usage-log 1 1\n".utf8) + line), .damaged)
  }

  func testALineNotExactlyAsWrittenIsSkipped() {
    let header = "llm-vault-usage-log 1 5\n"
    let good = "use 10 - \(a) .\n"
    for (what, line) in [
      ("no terminator", "use 10 - \(a)\n"),
      ("a terminator without its space", "use 10 - \(a).\n"),
      ("text after the terminator", "use 10 - \(a) . \n"),
      ("ids out of order", "use 10 - \(b) \(a) .\n"),
      ("an id twice", "use 10 - \(a) \(a) .\n"),
      ("an uppercase id", "use 10 - \(a.description.uppercased()) .\n"),
      ("a short id", "use 10 - \(a.description.dropLast()) .\n"),
      ("two spaces", "use 10 -  \(a) .\n"),
      ("a leading zero", "use 010 - \(a) .\n"),
      ("a sign", "use +10 - \(a) .\n"),
      ("an epoch past Int64.max", "use 9223372036854775808 - \(a) .\n"),
      ("no agent field", "use 10 .\n"),
      ("another word", "used 10 - \(a) .\n"),
      ("a carriage return", "use 10 - \(a) .\r\n"),
    ] {
      XCTAssertEqual(
        UsageLog.parse(Array((header + line + good).utf8)), .uses(fold: 5, tally([(nil, [a], 10)])), what)
    }
    XCTAssertEqual(
      UsageLog.parse(Array((header + "use 10 - .\n").utf8)), .uses(fold: 5, UsageTally()),
      "a use of nothing counts nothing")
  }

  func testCountsSaturate() {
    var tally = UsageTally()
    tally.add(agent: nil, keys: [a], at: 1)
    var huge = UsageState()
    huge.keys[a.description] = UsageState.Record(lastUsed: Timestamp(secondsSinceEpoch: 0), uses: .max)
    huge.apply(tally)
    XCTAssertEqual(huge.keys[a.description]?.uses, .max)
    XCTAssertEqual(huge.keys[a.description]?.lastUsed.secondsSinceEpoch, 1)
  }
}
