import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault run --mask`: injected values rewritten to their masked form on stdout and stderr,
/// however they are written, every other byte passed through exactly; signals relayed to the
/// child; its exit status returned; no zombie left.
final class RunMaskTests: XCTestCase {
  private func makeFixture() throws -> RunFixture {
    try RunFixture([
      ("OPENAI_MAIN", ["--provider", "openai", "--model", "gpt-4o"]),
      ("ANTHROPIC_MAIN", ["--provider", "anthropic"]),
    ])
  }

  private func masked(_ fixture: RunFixture, _ name: String) -> String {
    expectedMask(fixture.values[name]!)
  }

  // MARK: Masking

  func testValuesOnStdoutAndStderrComeOutMasked() throws {
    let fixture = try makeFixture()
    let script = """
      printf 'openai=%s\\n' "$OPENAI_API_KEY"
      printf 'anthropic=%s twice %s.\\n' "$ANTHROPIC_MAIN" "$ANTHROPIC_API_KEY" >&2
      printf 'plain text stays\\n'
      """
    let result = try fixture.sandbox.run(["run", "--mask", "--", "/bin/sh", "-c", script])
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertSameSecret(result.stdoutText, "openai=\(masked(fixture, "OPENAI_MAIN"))\nplain text stays\n", "stdout")
    let anthropic = masked(fixture, "ANTHROPIC_MAIN")
    assertSameSecret(result.stderrText, "anthropic=\(anthropic) twice \(anthropic).\n", "stderr")
    assertNoLeak(result, fixture.secrets)
  }

  func testAValueWrittenOneByteAtATimeIsMasked() throws {
    let fixture = try makeFixture()
    // One printf (one write) per character, with a pause now and then so the pieces arrive
    // in separate reads; on stdout and on stderr.
    let script = """
      spell() {
        v=$1; i=0
        while [ -n "$v" ]; do
          rest=${v#?}
          printf '%s' "${v%"$rest"}" >&$2
          v=$rest; i=$((i+1))
          if [ $((i % 8)) -eq 0 ]; then sleep 0.02; fi
        done
      }
      printf '<'; spell "$OPENAI_API_KEY" 1; printf '>\\n'
      printf '[' >&2; spell "$OPENAI_API_KEY" 2; printf ']\\n' >&2
      """
    let result = try fixture.sandbox.run(["run", "--mask", "--key", "OPENAI_MAIN", "--", "/bin/sh", "-c", script])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let mask = masked(fixture, "OPENAI_MAIN")
    assertSameSecret(result.stdoutText, "<\(mask)>\n", "stdout")
    assertSameSecret(result.stderrText, "[\(mask)]\n", "stderr")
    assertNoLeak(result, fixture.secrets)
  }

  func testAMebibyteOfEveryByteValuePassesThroughUnchanged() throws {
    let fixture = try makeFixture()
    let data = RunKit.allBytes(count: 1 << 20)
    let path = fixture.sandbox.root + "/binary"
    try writeFile(path, data, mode: 0o600)
    let result = try fixture.sandbox.run(
      ["run", "--mask", "--", "/bin/sh", "-c", "head -c 1048576 \"$1\"; cat \"$1\" >&2", "sh", path])
    XCTAssertEqual(result.status, 0)
    XCTAssertEqual(result.stdout.count, data.count)
    XCTAssertTrue(result.stdout == data, "stdout differs from the bytes written")
    XCTAssertTrue(result.stderr == data, "stderr differs from the bytes written")
  }

  func testAValueInsideBinaryOutputIsMaskedAndEveryOtherByteKept() throws {
    let fixture = try makeFixture()
    let value = Array(fixture.values["OPENAI_MAIN"]!.utf8)
    let noise = RunKit.allBytes(count: 300_000)
    let path = fixture.sandbox.root + "/mixed"
    try writeFile(path, noise + value + noise + value, mode: 0o600)
    let result = try fixture.sandbox.run(["run", "--mask", "--", "/bin/cat", path])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let mask = Array(masked(fixture, "OPENAI_MAIN").utf8)
    XCTAssertTrue(result.stdout == noise + mask + noise + mask, "the output is not the input with the value masked")
    assertNoLeak(result, fixture.secrets)
  }

  func testTheChildsExitCodeIsReturned() throws {
    let fixture = try makeFixture()
    for code: Int32 in [0, 3, 42, 255] {
      let result = try fixture.sandbox.run(["run", "--mask", "--", "/bin/sh", "-c", "echo out; exit \(code)"])
      XCTAssertEqual(result.status, code, result.stderrText)
      XCTAssertEqual(result.stdoutText, "out\n")
    }
  }

  func testStandardInputReachesTheChild() throws {
    let fixture = try makeFixture()
    let input = Array("line one\nline two\n".utf8)
    let result = try fixture.sandbox.run(["run", "--mask", "--", "/bin/cat"], stdin: input)
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdout, input)
  }

  // MARK: Signals

  func testAChildKilledBySIGTERMGives143() throws {
    let fixture = try makeFixture()
    let result = try fixture.sandbox.run(["run", "--mask", "--", "/bin/sh", "-c", "echo before; kill -TERM $$"])
    XCTAssertEqual(result.status, 143, result.stderrText)
    XCTAssertEqual(result.stdoutText, "before\n")
  }

  /// Starts `vault run --mask` with a child that traps `signals` (each appends its name to a
  /// log; TERM then exits 7), waits until the traps are set, and returns the process and paths.
  private func startTrappingChild(
    _ fixture: RunFixture, signals: [String], closeStreams: Bool = false, giveUpAfter rounds: Int = 400
  ) throws -> (vault: RunningVault, ready: String, log: String) {
    let root = fixture.sandbox.root
    let ready = root + "/ready"
    let log = root + "/signals"
    var script = closeStreams ? "exec >/dev/null 2>/dev/null\n" : ""
    for signal in signals {
      let exit = signal == "INT" ? "; exit 7" : ""
      script += "trap 'echo \(signal) >> \"$2\"\(exit)' \(signal)\n"
    }
    // Short sleeps, so a trap runs promptly; gives up (exit 0) after `rounds` of them.
    script += """
      echo $$ > "$1.tmp"; mv "$1.tmp" "$1"
      i=0
      while [ $i -lt \(rounds) ]; do sleep 0.05; i=$((i+1)); done
      exit 0
      """
    let vault = try fixture.sandbox.start(["run", "--mask", "--", "/bin/sh", "-c", script, "sh", ready, log])
    XCTAssertTrue(RunKit.waitFor(ready), "the child never started")
    return (vault, ready, log)
  }

  private func logged(_ path: String) -> [String] {
    guard let bytes = try? readFile(path) else { return [] }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
  }

  /// Waits until the log has `count` lines (a safeguard against a hang, not a timing check).
  private func waitForLines(_ path: String, _ count: Int) {
    let deadline = Date().addingTimeInterval(20)
    while logged(path).count < count && Date() < deadline { usleep(10_000) }
  }

  func testSIGINTSentToVaultReachesTheChild() throws {
    let fixture = try makeFixture()
    let (vault, _, log) = try startTrappingChild(fixture, signals: ["INT"])
    vault.kill(SIGINT)
    let result = try vault.wait()
    XCTAssertEqual(logged(log), ["INT"], "the child's trap did not run")
    XCTAssertEqual(result.status, 7, result.stderrText)
  }

  func testEveryRelayedSignalReachesTheChild() throws {
    let fixture = try makeFixture()
    let names = ["HUP", "QUIT", "USR1", "USR2", "WINCH", "TERM", "INT"]
    let numbers = [SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGTERM, SIGINT]
    let (vault, _, log) = try startTrappingChild(fixture, signals: names)
    // One at a time, each after the previous one arrived; INT last (its trap exits 7).
    for (index, signal) in numbers.enumerated() {
      vault.kill(signal)
      waitForLines(log, index + 1)
    }
    let result = try vault.wait()
    XCTAssertEqual(logged(log), names, "the signals the child saw")
    XCTAssertEqual(result.status, 7, result.stderrText)
  }

  func testSIGTERMSentToVaultEndsAnUntrappingChildWith143() throws {
    let fixture = try makeFixture()
    let (vault, _, _) = try startTrappingChild(fixture, signals: [])
    vault.kill(SIGTERM)
    let result = try vault.wait()
    XCTAssertEqual(result.status, 143, result.stderrText)
  }

  func testASignalStillReachesAChildThatClosedItsOutput() throws {
    let fixture = try makeFixture()
    // The child closes its stdout and stderr (as a daemon does), then waits for SIGINT.
    let (vault, _, log) = try startTrappingChild(fixture, signals: ["INT"], closeStreams: true, giveUpAfter: 100)
    // Give vault a chance to see both streams end before the signal (not a timing assertion:
    // the relay must work whenever the signal comes).
    usleep(300_000)
    vault.kill(SIGINT)
    let result = try vault.wait()
    XCTAssertEqual(logged(log), ["INT"], "SIGINT never reached the child")
    XCTAssertEqual(result.status, 7, result.stderrText)
  }

  // MARK: Reaping

  func testNoZombieIsLeft() throws {
    let fixture = try makeFixture()
    let root = fixture.sandbox.root
    let ready = root + "/child-pid"
    let go = root + "/go"
    let script = """
      echo $$ > "$1.tmp"; mv "$1.tmp" "$1"
      i=0
      while [ ! -e "$2" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
      exit 5
      """
    let vault = try fixture.sandbox.start(["run", "--mask", "--", "/bin/sh", "-c", script, "sh", ready, go])
    XCTAssertTrue(RunKit.waitFor(ready), "the child never started")
    let text = String(decoding: try readFile(ready), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let child = try XCTUnwrap(pid_t(text), "child pid \(text)")
    // Supervised: the child is vault's own child, so vault is the one that must reap it.
    XCTAssertEqual(RunKit.processStatus(child)?["PPid"], String(vault.pid), "the child's parent")
    XCTAssertEqual(RunKit.children(of: vault.pid), [child], "vault's children while the child runs")
    try writeFile(go, [], mode: 0o600)
    let result = try vault.wait()
    XCTAssertEqual(result.status, 5, result.stderrText)
    // vault reaped it before exiting: no process is left, not even a zombie handed to init.
    let state = RunKit.processStatus(child)
    XCTAssertNil(state, "the child is still there after vault exited: \(state ?? [:])")
    XCTAssertEqual(RunKit.children(of: vault.pid), [], "processes still have vault as their parent")
  }
}
