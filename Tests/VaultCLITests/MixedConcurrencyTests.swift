import Foundation
import XCTest

/// Eight writers, each doing 25 mixed writes (add, link, edit, rm, agent keys), while a reader
/// lists and verifies in a loop: the final vault holds exactly what the writers' sequences
/// imply, and the reader never sees an error or a partial file.
final class MixedConcurrencyTests: XCTestCase {
  private struct Step {
    var arguments: [String]
    var stdin: String? = nil
  }

  private static func steps(for worker: Int) -> [Step] {
    var steps: [Step] = []
    for key in 0..<10 {
      steps.append(
        Step(
          arguments: ["add", "W\(worker)_K\(key)", "--provider", "p\(worker)"],
          stdin: "sk-w\(worker)-k\(key)-0123456789\n"))
    }
    for key in 0..<5 { steps.append(Step(arguments: ["link", "W\(worker)_K\(key)", "--model", "m\(worker)-\(key)"])) }
    for key in 0..<4 {
      steps.append(
        Step(arguments: ["edit", "W\(worker)_K\(key)", "--value"], stdin: "sk-w\(worker)-k\(key)-edited-0123456789\n"))
    }
    for key in 5..<8 { steps.append(Step(arguments: ["rm", "W\(worker)_K\(key)", "--yes"])) }
    steps.append(Step(arguments: ["agent-key", "create", "agent-\(worker)", "--provider", "p\(worker)"]))
    steps.append(Step(arguments: ["agent-key", "create", "gone-\(worker)", "--all"]))
    steps.append(Step(arguments: ["agent-key", "revoke", "gone-\(worker)", "--yes"]))
    return steps
  }

  func testEightMixedWritersAndAReaderEndWithExactlyTheExpectedVault() throws {
    let sandbox = try VaultSandbox()
    sandbox.environment["VAULT_LOCK_TIMEOUT"] = "120"
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.run(["config", "set", "agent-keys.limit", "100"]).status, 0)
    let failures = Robust.Locked<[String]>([])
    let writersDone = Robust.Locked(0)
    let reads = Robust.Locked(0)
    let shared = Robust.Unchecked(value: sandbox)

    Robust.onThreads(9) { worker in
      if worker == 8 {
        // The reader: every list and verify must succeed on a whole file, old or new.
        while writersDone.value < 8 {
          for arguments in [["list", "--json"], ["verify"], ["agent-key", "list", "--json"]] {
            guard let result = try? shared.value.run(arguments), result.status == 0 else {
              failures.update { $0.append("reader: \(arguments[0]) failed") }
              continue
            }
            reads.update { $0 += 1 }
          }
        }
        return
      }
      // Writer w: 25 writes on its own names, in an order whose end state is known.
      let steps = Self.steps(for: worker)
      XCTAssertEqual(steps.count, 25)
      for step in steps {
        let command = step.arguments.joined(separator: " ")
        do {
          let result = try shared.value.run(step.arguments, stdin: step.stdin.map { Array($0.utf8) })
          if result.status != 0 {
            failures.update { $0.append("writer \(worker): \(command) exited \(result.status): \(result.stderrText)") }
          }
        } catch {
          failures.update { $0.append("writer \(worker): \(command) did not run: \(error)") }
        }
      }
      writersDone.update { $0 += 1 }
    }

    XCTAssertEqual(failures.value, [])
    XCTAssertGreaterThan(reads.value, 0, "the reader ran")
    let keys = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(try sandbox.run(["list", "--json"]).stdout)) as? [[String: Any]])
    var expected: [String: [String]] = [:]
    for worker in 0..<8 {
      for key in [0, 1, 2, 3, 4, 8, 9] { expected["W\(worker)_K\(key)"] = key < 5 ? ["m\(worker)-\(key)"] : [] }
    }
    XCTAssertEqual(keys.count, expected.count)
    for key in keys {
      let name = try XCTUnwrap(key["name"] as? String)
      XCTAssertEqual(key["models"] as? [String], expected[name], name)
    }
    for worker in [0, 7] {
      for key in [0, 3, 4, 9] {
        let value = try sandbox.run(["get", "W\(worker)_K\(key)"]).stdoutText
        XCTAssertEqual(value, "sk-w\(worker)-k\(key)\(key < 4 ? "-edited" : "")-0123456789")
      }
    }
    let agents = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(try sandbox.run(["agent-key", "list", "--json"]).stdout))
        as? [[String: Any]])
    XCTAssertEqual(agents.filter { $0["status"] as? String == "Active" }.count, 8)
    XCTAssertEqual(agents.filter { $0["status"] as? String == "Revoked" }.count, 8)
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertTrue(verify.stdoutText.hasPrefix("ok: 56 provider keys verified, generation 202"), verify.stdoutText)
  }
}
