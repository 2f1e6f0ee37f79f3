// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "llm-vault",
  products: [
    .executable(name: "vault", targets: ["vault"])
  ],
  targets: [
    // OpenSSL's libcrypto only: `pkgConfig: "libcrypto"` keeps libssl out of the binary.
    .systemLibrary(
      name: "COpenSSL",
      pkgConfig: "libcrypto",
      providers: [.apt(["libssl-dev"])]
    ),
    // Linux calls the Glibc module does not import (prctl), for the executable's process hygiene.
    .systemLibrary(name: "CLinux"),
    .target(name: "VaultCrypto", dependencies: ["COpenSSL"]),
    .target(name: "VaultCore", dependencies: ["VaultCrypto"]),
    .executableTarget(name: "vault", dependencies: ["VaultCore", "CLinux"]),
    .testTarget(
      name: "VaultCryptoTests",
      dependencies: ["VaultCrypto"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(name: "VaultCoreTests", dependencies: ["VaultCore", "VaultCrypto"]),
    // Depends on the executable so `swift test` builds the real `vault` the tests run.
    .testTarget(name: "VaultCLITests", dependencies: ["vault", "VaultCore", "VaultCrypto"]),
  ],
  swiftLanguageModes: [.v6]
)
