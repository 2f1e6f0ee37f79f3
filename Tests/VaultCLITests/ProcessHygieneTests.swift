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
    var vaultLimit: String? = nil
    for _ in 0..<100 where vaultLimit == nil {
      usleep(20_000)
      let limits = (try? String(contentsOfFile: "/proc/\(running.pid)/limits", encoding: .utf8)) ?? ""
      if FileManager.default.fileExists(atPath: marker) {
        vaultLimit = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init)
      }
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
