import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// `vault identity new|show`: a member's own age X25519 identity.
enum IdentityCommands {
  static let subcommands: [any Command.Type] = [IdentityNewCommand.self, IdentityShowCommand.self]

  static var overview: String {
    CommandSpec.groupOverview(
      "identity", "Your age identity, which opens team vaults you are a member of.", subcommands)
  }
}

enum IdentityNewCommand: Command {
  static let spec = CommandSpec(
    name: "identity new", summary: "Create your identity (mode 0600) and print its recipient (age1...).",
    options: [
      .init(name: "out", value: "<path>", help: "Where to write it (default: ~/.config/llm-vault/identity).")
    ],
    discussion: """
      The identity file is an age identity file: 'age -d -i FILE' and age-keygen's files are
      interchangeable with it. Never written over an existing file. Give the printed recipient to
      an owner of the vault ('vault member add NAME RECIPIENT').
      """)

  static func run(_ context: Context) throws {
    let files = context.identityFiles
    let path = context.arguments.value("out") ?? files.defaultPath
    if context.arguments.value("out") == nil {
      let directory = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
      try makePrivateDirectories(directory)
    }
    let identity = try AgeIdentity.generate()
    let recipient = identity.recipient.encoded
    // O_EXCL and O_NOFOLLOW: never over a file, never through a link; 0600 before any byte.
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      if errno == EEXIST {
        throw VaultError.invalidInput("\(path) exists already: an identity is never written over a file (--out PATH)")
      }
      throw VaultError.io("cannot create \(path): \(String(cString: strerror(errno)))")
    }
    let header = Array("# created by vault: \(Timestamp.now().rfc3339)\n# public key: \(recipient)\n".utf8)
    let secret = identity.encoded()
    var ok = header.withUnsafeBytes { writeAll(descriptor, $0) }
    ok = ok && secret.withUnsafeBytes { writeAll(descriptor, $0) }
    ok = ok && Array("\n".utf8).withUnsafeBytes { writeAll(descriptor, $0) }
    ok = ok && fsync(descriptor) == 0
    close(descriptor)
    guard ok else {
      unlink(path)
      throw VaultError.io("cannot write \(path)")
    }
    Console.out(recipient + "\n")
    Console.err("vault: wrote your identity to \(path) (mode 0600); give the recipient above to the vault's owner\n")
  }

  private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if written < 0 && errno == EINTR { continue }
      if written <= 0 { return false }
      offset += written
    }
    return true
  }

  /// `~/.config/llm-vault`, made 0700 where missing.
  private static func makePrivateDirectories(_ path: String) throws {
    var built = ""
    for component in path.split(separator: "/", omittingEmptySubsequences: true) {
      built += "/" + component
      if mkdir(built, 0o700) != 0 && errno != EEXIST {
        throw VaultError.io("cannot create \(built): \(String(cString: strerror(errno)))")
      }
    }
  }
}

enum IdentityShowCommand: Command {
  static let spec = CommandSpec(
    name: "identity show", summary: "Print the recipient (age1...) of each identity vault would try.",
    discussion: "Reads --identity, VAULT_IDENTITY and the default file; prints one recipient per identity.")

  static func run(_ context: Context) throws {
    let offered = try context.identityFiles.load()
    guard !offered.isEmpty else {
      throw VaultError.usage(
        "no identity: 'vault identity new' creates one, or name a file with --identity or VAULT_IDENTITY")
    }
    for identity in offered { Console.out(identity.identity.recipient.encoded + "\n") }
  }
}
