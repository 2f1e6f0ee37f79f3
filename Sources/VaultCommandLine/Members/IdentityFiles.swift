import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// Where a member's identity is read from, in order: `--identity PATH`, `VAULT_IDENTITY`, the
/// default file `$XDG_CONFIG_HOME/llm-vault/identity` (else `~/.config/llm-vault/identity`).
/// Files are age identity files: `AGE-SECRET-KEY-1...` lines, `#` comments, blank lines, so
/// one written by `age-keygen` works as it is.
struct IdentityFiles {
  let environment: [String: String]
  let option: String?

  static let variable = IdentityLocation.variable

  /// The default identity file's path.
  var defaultPath: String { IdentityLocation.defaultPath(environment: environment) }

  /// The paths to try, each with whether it must exist (named explicitly) or may be absent.
  var paths: [(path: String, explicit: Bool)] {
    var paths: [(String, Bool)] = []
    if let option { paths.append((option, true)) }
    if let named = environment[Self.variable], !named.isEmpty { paths.append((named, true)) }
    paths.append((defaultPath, false))
    var seen = Set<String>()
    return paths.filter { seen.insert($0.0).inserted }
  }

  /// Every identity in every file found. A file named explicitly must exist and parse.
  func load() throws -> [OfferedIdentity] {
    var offered: [OfferedIdentity] = []
    for (path, explicit) in paths {
      guard let contents = try read(path, explicit: explicit) else { continue }
      for identity in try Self.parse(contents, path: path) {
        offered.append(OfferedIdentity(identity: identity, source: path))
      }
    }
    return offered
  }

  /// The file's bytes in locked memory; nil when an implicit file is absent.
  private func read(_ path: String, explicit: Bool) throws -> SecretBytes? {
    // O_NONBLOCK: a FIFO at the path must not hang every command; only a regular file is read.
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
    guard descriptor >= 0 else {
      if errno == ENOENT && !explicit { return nil }
      throw VaultError.io("cannot read the identity file \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
      throw VaultError.insecureFile(
        "the identity file \(path) is not a regular file",
        hint: "point --identity or VAULT_IDENTITY at an age identity file")
    }
    warnIfShared(descriptor, what: "identity file \(path)")
    let limit = 64 * 1024
    let contents = SecretBytes.reading(descriptor, atMost: limit)
    guard contents.count < limit else {
      throw VaultError.invalidInput("the identity file \(path) is larger than 64 KiB")
    }
    return contents
  }

  /// The identities of an age identity file; a line that is neither blank, a comment nor an
  /// X25519 identity is refused by its number, never echoed (it may be a key).
  static func parse(_ contents: SecretBytes, path: String) throws -> [AgeIdentity] {
    try contents.withUnsafeBytes { bytes in
      var identities: [AgeIdentity] = []
      for (number, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
        var line = line
        if line.last == 0x0D { line = line.dropLast() }
        if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
        do {
          identities.append(try AgeIdentity(parsing: SecretBytes(copying: line)))
        } catch {
          throw VaultError.invalidInput(
            "line \(number + 1) of the identity file \(path) is not an age X25519 identity (AGE-SECRET-KEY-1...)")
        }
      }
      guard !identities.isEmpty else { throw VaultError.invalidInput("the identity file \(path) holds no identity") }
      return identities
    }
  }
}
