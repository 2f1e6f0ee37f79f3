import XCTest

@testable import VaultCore

/// The texts bound into an agent's slot and grants, built without key paths or generic joins
/// on the run's path, must be exactly the texts the writer bound: a difference would make every
/// token fail to open.
final class CanonicalTextTests: XCTestCase {
  func testLimitsByPositionAreTheMembersKeyPaths() {
    XCTAssertEqual(AgentLimits.members.count, AgentLimits.memberCount)
    var limits = AgentLimits.none
    for (index, member) in AgentLimits.members.enumerated() {
      XCTAssertEqual(AgentLimits.memberName(index).description, member.member.description)
      limits[member: index] = 10 + index
      XCTAssertEqual(limits[keyPath: member.keyPath], 10 + index, member.option)
      XCTAssertEqual(limits[member: index], 10 + index, member.option)
    }
    XCTAssertEqual(limits.canonicalText, "rpm=10;rpd=11;tpd=12;concurrent=13")
    XCTAssertEqual(AgentLimits.none.canonicalText, "rpm=-;rpd=-;tpd=-;concurrent=-")
    XCTAssertEqual(AgentLimits(tokensPerDay: 5).canonicalText, "rpm=-;rpd=-;tpd=5;concurrent=-")
  }

  func testScopeTextListsAreSortedAndJoinedWithCommas() throws {
    let ids = try (0..<3).map { _ in try RecordID.random() }
    let scope = AgentScope(keys: ids, providers: ["openai", "anthropic"], models: ["gpt-4o", "claude-3", "a"])
    XCTAssertEqual(
      scope.canonicalText,
      "all=0;keys=\(ids.map(\.description).sorted().joined(separator: ","));providers=anthropic,openai;"
        + "models=a,claude-3,gpt-4o")
    XCTAssertEqual(AgentScope(all: true).canonicalText, "all=1;keys=;providers=;models=")
    XCTAssertEqual(AgentScope(providers: ["x"]).canonicalText, "all=0;keys=;providers=x;models=")
  }
}
