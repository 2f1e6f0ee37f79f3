// swift-tools-version:6.0
import Foundation
import PackageDescription

let package = Package(
  name: "llm-vault",
  products: [
    .executable(name: "vault", targets: ["vault"]),
    // The domain as a library: a Swift program can read keys with an agent key (README,
    // "Using VaultCore from Swift", says which API is stable).
    .library(name: "VaultCore", targets: ["VaultCore"]),
  ],
  targets: [
    // OpenSSL's libcrypto only: `pkgConfig: "libcrypto"` keeps libssl out of the binary.
    .systemLibrary(
      name: "COpenSSL",
      pkgConfig: "libcrypto",
      providers: [.apt(["libssl-dev"])]
    ),
    // OpenSSL's libssl, for the gateway's upstream TLS only (VaultTLS).
    .systemLibrary(
      name: "COpenSSLTLS",
      pkgConfig: "libssl",
      providers: [.apt(["libssl-dev"])]
    ),
    // Linux calls the Glibc module does not import (prctl), for the executable's process hygiene.
    .systemLibrary(name: "CLinux"),
    .target(name: "VaultCrypto", dependencies: ["COpenSSL"]),
    .target(name: "VaultCore", dependencies: ["VaultCrypto"]),
    // A TLS client connection over libssl, behind a small Swift type; knows nothing of vaults.
    .target(name: "VaultTLS", dependencies: ["COpenSSLTLS"]),
    // `vault serve`: HTTP/1.1, routing, authentication through VaultCore, upstreams through VaultTLS.
    .target(name: "VaultGateway", dependencies: ["VaultCore", "VaultTLS"]),
    // The command line as a library (parsing, prompts, output, commands), so it can be fuzzed;
    // the executable is only its entry point.
    .target(name: "VaultCommandLine", dependencies: ["VaultCore", "VaultGateway", "CLinux"]),
    .executableTarget(name: "vault", dependencies: ["VaultCommandLine"]),
    .testTarget(
      name: "VaultCryptoTests",
      dependencies: ["VaultCrypto"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(name: "VaultCoreTests", dependencies: ["VaultCore", "VaultCrypto"]),
    .testTarget(name: "VaultTLSTests", dependencies: ["VaultTLS"]),
    .testTarget(name: "VaultGatewayTests", dependencies: ["vault", "VaultGateway", "VaultCore", "VaultCrypto"]),
    // Depends on the executable so `swift test` builds the real `vault` the tests run.
    .testTarget(
      name: "VaultCLITests", dependencies: ["vault", "VaultCore", "VaultCrypto"],
      // Run by TerminalTests with python3, not compiled.
      exclude: ["Support/pty_driver.py"]),
  ],
  swiftLanguageModes: [.v6]
)

// libFuzzer targets, only when asked for (their entry point is LLVMFuzzerTestOneInput, not
// main, so they link only with --sanitize=fuzzer). See .ci/fuzz.
if ProcessInfo.processInfo.environment["VAULT_FUZZ"] != nil {
  let fuzzers: [(name: String, directory: String, library: String)] = [
    ("fuzz-vault-file", "VaultFile", "VaultCore"), ("fuzz-token", "Token", "VaultCore"),
    ("fuzz-dotenv", "DotEnv", "VaultCore"), ("fuzz-template", "Template", "VaultCore"),
    ("fuzz-arguments", "Arguments", "VaultCommandLine"), ("fuzz-http-request", "HTTPRequest", "VaultGateway"),
    ("fuzz-http-relay", "HTTPRelay", "VaultGateway"),
  ]
  for fuzzer in fuzzers {
    package.targets.append(
      .executableTarget(
        name: fuzzer.name, dependencies: [.target(name: fuzzer.library)], path: "Sources/Fuzz/\(fuzzer.directory)",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
  }
}
