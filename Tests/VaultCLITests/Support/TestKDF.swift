import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The scrypt cost of the suite's vaults, in one place.
///
/// scrypt at the production floor (N=2^14) was most of the suite's time, so the sandboxes run the
/// debug `vault` binary with `VAULT_TEST_SCRYPT_MIN_LOG_N` set, which lowers the floor of a debug
/// build (`KDFSettings.minimumLogN`; release builds do not read it), and create their vaults at
/// N=2^10. Tests of the production floor and range itself use `productionFloor` instead.
///
/// Some tests also read those vaults in this process, through VaultCore (a debug build too), so
/// the sandbox sets the variable here as well before anything reads the floor (`inProcess`).
enum TestKDF {
  /// The variable a debug `vault` lowers its scrypt floor from.
  static let variable = "VAULT_TEST_SCRYPT_MIN_LOG_N"
  /// log2(N) of the suite's vaults: the lowest the variable allows.
  static let logN = 10
  /// N of the suite's vaults, as the header's `kdf.n` says it.
  static let n = 1 << logN
  /// The floor a release build (and a debug build without the variable) keeps: N=2^14.
  static let productionLogN = 14
  /// `vault init` options for a vault at the suite's cost.
  static let options = costOptions(logN)
  /// The variable as every sandbox sets it.
  static let environment: [String: String] = [variable: String(logN)]
  /// Extra environment for a run that must see the production floor: the variable removed.
  static let productionFloor: [String: String?] = [variable: nil]

  /// `--scrypt-log-n logN`, for `vault init` and `vault passwd`.
  static func costOptions(_ logN: Int) -> [String] {
    ["--scrypt-log-n", String(logN)]
  }

  /// Sets the variable in this test process too, once, so in-process reads of the suite's vaults
  /// (`VaultStore(path:)` in the helpers) accept N=2^10; every `VaultSandbox` does it first.
  /// No in-process test checks the floor; the binary's floor is set per run, by the sandbox's
  /// environment.
  static let inProcess: Void = {
    setenv(variable, String(logN), 1)
    XCTAssertEqual(
      KDFSettings.minimumLogN, logN,
      "KDFSettings.minimumLogN does not follow \(variable) in the test process; in-process reads of N=2^\(logN) vaults will fail"
    )
  }()
}
