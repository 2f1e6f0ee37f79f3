// swift-tools-version:6.0
import Foundation
import PackageDescription

/// OpenSSL as pkg-config describes it. Read here rather than through `pkgConfig:` on the system
/// library targets, which would put `-lssl -lcrypto` (the shared libraries) on every link: the
/// release build takes the static archives instead when they are installed (Debian's libssl-dev
/// ships them), so `vault run` does not pay the dynamic loader for libcrypto and libssl on every
/// start (bench/README.md). Debug builds, and machines without the archives, link the shared
/// libraries as before.
enum OpenSSL {
  static func pkgConfig(_ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["pkg-config"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static let libraryDirectory = pkgConfig(["--variable=libdir", "libcrypto"])
  /// `-I...` for headers outside the compiler's default paths (none on Debian).
  static let includeFlags = (pkgConfig(["--cflags-only-I", "libssl", "libcrypto"]) ?? "").split(separator: " ").map(
    String.init)
  static let searchFlags = libraryDirectory.map { ["-L\($0)"] } ?? []

  /// The archive of `library` (crypto, ssl) in pkg-config's libdir, if installed.
  static func archive(_ library: String) -> String? {
    guard let directory = libraryDirectory else { return nil }
    let path = "\(directory)/lib\(library).a"
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }

  /// Links `libraries` (in link order: ssl before crypto): the archives in release builds when
  /// all are installed, else the shared libraries.
  static func linkerSettings(_ libraries: [String]) -> [LinkerSetting] {
    let shared = [LinkerSetting.unsafeFlags(searchFlags)] + libraries.map { LinkerSetting.linkedLibrary($0) }
    let archives = libraries.compactMap(archive)
    guard archives.count == libraries.count else { return shared }
    return [.unsafeFlags(searchFlags)] + libraries.map { .linkedLibrary($0, .when(configuration: .debug)) }
      + [.unsafeFlags(archives.flatMap { ["-Xlinker", $0] }, .when(configuration: .release))]
  }

  static let swiftSettings: [SwiftSetting] =
    includeFlags.isEmpty ? [] : [.unsafeFlags(includeFlags.flatMap { ["-Xcc", $0] })]

  /// True when the release build links OpenSSL's archives (see `linkerSettings`).
  static var linksArchives: Bool { archive("crypto") != nil && archive("ssl") != nil }
}

/// The install build (README: `VAULT_STATIC_PIE=1 swift build -c release --static-swift-stdlib
/// --disable-local-rpath`): `vault` as one static position-independent executable. No dynamic
/// loader and no shared libraries to find, map and relocate (libstdc++, libm, libgcc_s, libc) on
/// every start, which was half of `vault --version` and over a millisecond of every `vault run`
/// (bench/README.md). PIE is kept, so the binary still loads at a random address (ASLR).
///
/// Only when asked for, because glibc's static-PIE start-up asserts that the binary has no
/// run-time search path, and SwiftPM adds `$ORIGIN` to every executable unless the build passes
/// `--disable-local-rpath` (which a manifest cannot see): a plain `swift run -c release` must
/// keep working. It also needs lld (gold cannot link a static PIE; the Swift toolchain ships
/// lld), `rcrt1.o` and `libc.a` (libc6-dev) and OpenSSL's archives; without them the build
/// stays dynamic.
enum StaticPIE {
  static func onPath(_ program: String) -> Bool {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
  }

  static var available: Bool {
    guard ProcessInfo.processInfo.environment["VAULT_STATIC_PIE"] == "1", OpenSSL.linksArchives,
      let directory = OpenSSL.libraryDirectory
    else { return false }
    let files = ["rcrt1.o", "libc.a", "libm.a"].map { "\(directory)/\($0)" }
    return files.allSatisfy(FileManager.default.fileExists(atPath:)) && onPath("ld.lld")
  }

  /// Two lld options that shorten every start (bench/README.md, "Fourth round"). Relative
  /// relocations packed as DT_RELR: the table the start-up reads shrinks from about 1 MB to
  /// 11 KB. And the functions one `vault run` executes placed side by side, in the order of
  /// Sources/vault/start-up.order (bench/make-order writes it), so a start maps their code in
  /// half as many page faults. The order file is part of the sources: a name the code no longer
  /// has is skipped, so an old file costs speed, never correctness.
  static let startUpOrder = Context.packageDirectory + "/Sources/vault/start-up.order"

  /// Whether the libc.a this build links applies DT_RELR in a static PIE: glibc 2.36 and later
  /// (`_dl_relocate_static_pie`). An older one ignores the table (a static PIE has no version
  /// need to refuse it), and the binary would crash on its first relocated pointer.
  static var libcAppliesRELR: Bool {
    var buffer = [CChar](repeating: 0, count: 64)
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 else { return false }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let parts = text.split(separator: " ").last?.split(separator: ".").compactMap { Int($0) } ?? []
    guard parts.count >= 2 else { return false }
    return (parts[0], parts[1]) >= (2, 36)
  }

  static let linkerSettings: [LinkerSetting] =
    available
    ? [
      .unsafeFlags(
        ["-static-executable", "-use-ld=lld", "-Xclang-linker", "-static-pie"]
          + (libcAppliesRELR ? ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] : [])
          + ["-Xlinker", "--symbol-ordering-file=\(startUpOrder)", "-Xlinker", "--no-warn-symbol-ordering"],
        .when(configuration: .release))
    ] : []
}

let package = Package(
  name: "llm-vault",
  products: [
    .executable(name: "vault", targets: ["vault"]),
    // The domain as a library: a Swift program can read keys with an agent key (README,
    // "Using VaultCore from Swift", says which API is stable).
    .library(name: "VaultCore", targets: ["VaultCore"]),
  ],
  targets: [
    // OpenSSL's libcrypto headers; linked by VaultCrypto (see `OpenSSL` above).
    .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
    // OpenSSL's libssl headers, for the gateway's upstream TLS only; linked by VaultTLS.
    .systemLibrary(name: "COpenSSLTLS", providers: [.apt(["libssl-dev"])]),
    // Linux calls the Glibc module does not import (prctl, keyctl), for the executable's process
    // hygiene, and the removal of a save's early temporary on SIGINT/SIGTERM/SIGHUP.
    .systemLibrary(name: "CLinux"),
    .target(
      name: "VaultCrypto", dependencies: ["COpenSSL", "CLinux"],
      linkerSettings: OpenSSL.linkerSettings(["crypto"])),
    .target(name: "VaultCore", dependencies: ["VaultCrypto", "CLinux"]),
    // A TLS client connection over libssl, behind a small Swift type; knows nothing of vaults.
    .target(
      name: "VaultTLS", dependencies: ["COpenSSLTLS"],
      linkerSettings: OpenSSL.linkerSettings(["ssl", "crypto"])),
    // `vault serve`: HTTP/1.1, routing, authentication through VaultCore, upstreams through VaultTLS.
    .target(name: "VaultGateway", dependencies: ["VaultCore", "VaultCrypto", "VaultTLS"]),
    // The command line as a library (parsing, prompts, output, commands), so it can be fuzzed;
    // the executable is only its entry point.
    .target(name: "VaultCommandLine", dependencies: ["VaultCore", "VaultGateway", "CLinux"]),
    .executableTarget(
      name: "vault", dependencies: ["VaultCommandLine", "VaultCrypto"], exclude: ["start-up.order"],
      linkerSettings: StaticPIE.linkerSettings),
    .testTarget(
      name: "VaultCryptoTests",
      dependencies: ["VaultCrypto", "COpenSSL"],
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

// Every Swift target may load the OpenSSL modules (directly or through VaultCrypto's), so each
// gets their header path, as `pkgConfig:` would have given it.
for target in package.targets where target.type != .system {
  target.swiftSettings = (target.swiftSettings ?? []) + OpenSSL.swiftSettings
}

// libFuzzer targets, only when asked for (their entry point is LLVMFuzzerTestOneInput, not
// main, so they link only with --sanitize=fuzzer). See .ci/fuzz.
if ProcessInfo.processInfo.environment["VAULT_FUZZ"] != nil {
  let fuzzers: [(name: String, directory: String, library: String)] = [
    ("fuzz-vault-file", "VaultFile", "VaultCore"), ("fuzz-token", "Token", "VaultCore"),
    ("fuzz-dotenv", "DotEnv", "VaultCore"), ("fuzz-template", "Template", "VaultCore"),
    ("fuzz-arguments", "Arguments", "VaultCommandLine"), ("fuzz-http-request", "HTTPRequest", "VaultGateway"),
    ("fuzz-http-relay", "HTTPRelay", "VaultGateway"), ("fuzz-age-header", "AgeHeader", "VaultCore"),
    ("fuzz-usage-log", "UsageLog", "VaultCore"),
  ]
  for fuzzer in fuzzers {
    package.targets.append(
      .executableTarget(
        name: fuzzer.name, dependencies: [.target(name: fuzzer.library)], path: "Sources/Fuzz/\(fuzzer.directory)",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
  }
}
