import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// While `vault` holds secrets its core limit is 0; the child it runs gets the caller's back.
final class ProcessHygieneTests: XCTestCase {
  func testVaultWritesNoCoreButTheChildKeepsTheCallersCoreLimit() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("MY_API", value: "sk-hygiene-0123456789abcdef", ["--provider", "openai"]).status, 0)
    // Give the test process (and so the vault it starts) a non-zero soft core limit.
    var original = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_CORE.rawValue)
    XCTAssertEqual(getrlimit(resource, &original), 0)
    defer { _ = setrlimit(resource, &original) }
    guard original.rlim_max >= 4096 else { throw XCTSkip("the hard core limit is too low to observe a change") }
    var raised = rlimit(rlim_cur: 4096, rlim_max: original.rlim_max)
    XCTAssertEqual(setrlimit(resource, &raised), 0)

    let marker = sandbox.root + "/child-core-limit"
    let running = try sandbox.start(["run", "--mask", "--", "sh", "-c", "ulimit -c > \(marker); sleep 1"])
    // The supervising vault's soft core limit, read while the child runs (it sleeps 1 s after
    // writing the marker). vault gives the caller's limit back for the spawn and takes it away
    // again once posix_spawn returns; on a busy machine the child can write its marker before
    // the parent is scheduled again, so the limit is read until it shows 0, for as long as the
    // child is still running, and the last reading is what is checked.
    var vaultLimit: String? = nil
    for _ in 0..<100 where !FileManager.default.fileExists(atPath: marker) { usleep(20_000) }
    for _ in 0..<25 {
      let limits = (try? String(contentsOfFile: "/proc/\(running.pid)/limits", encoding: .utf8)) ?? ""
      vaultLimit = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init)
      if vaultLimit?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first == "0" { break }
      usleep(20_000)
    }
    let result = try running.wait()
    XCTAssertEqual(result.status, 0, result.stderrText)
    // The supervising vault: soft limit 0 while it holds secrets.
    let fields = try XCTUnwrap(vaultLimit).split(separator: " ", omittingEmptySubsequences: true)
    XCTAssertEqual(fields.dropFirst(4).first, "0", "vault's own soft core limit")
    // The child: the caller's 4096 bytes, which sh reports in 512-byte blocks.
    XCTAssertEqual(
      try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), "8")
  }
}
