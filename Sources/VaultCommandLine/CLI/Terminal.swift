import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// The controlling terminal, opened as `/dev/tty` so prompts work even when stdin and stdout
/// are pipes (`echo KEY | vault add X` still asks for the passphrase on the terminal).
final class Terminal {
  private let descriptor: Int32

  /// The terminal, or nil when the process has none (CI, cron, a pipe from another program).
  static func open() -> Terminal? {
    let descriptor = Glibc.open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    return Terminal(descriptor: descriptor)
  }

  private init(descriptor: Int32) {
    self.descriptor = descriptor
  }

  deinit {
    close(descriptor)
  }

  /// Asks with echo off and returns what was typed, without the newline, in wiped storage.
  func readSecret(prompt: String) throws -> SecretBytes {
    var saved = termios()
    guard tcgetattr(descriptor, &saved) == 0 else { throw VaultError.io("cannot read the terminal's settings") }
    var silent = saved
    silent.c_lflag &= ~tcflag_t(ECHO)
    silent.c_lflag |= tcflag_t(ECHONL)
    EchoGuard.install(descriptor: descriptor, saved: saved)
    defer { EchoGuard.restore() }
    guard tcsetattr(descriptor, TCSAFLUSH, &silent) == 0 else { throw VaultError.io("cannot turn off echo") }
    writeText(prompt)
    return try readLine()
  }

  /// Asks a yes/no question; only `y` or `yes` (any case) is yes.
  func confirm(_ question: String) throws -> Bool {
    writeText(question + " [y/N] ")
    let answer = try readLine().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    return ["y", "yes"].contains(answer.trimmingSpaces().lowercased())
  }

  private func writeText(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
  }

  private func readLine() throws -> SecretBytes {
    // Byte by byte, so nothing after the newline is consumed; into a buffer wiped afterwards.
    var line = [UInt8]()
    defer { for index in line.indices { line[index] = 0 } }
    var byte: UInt8 = 0
    while true {
      let count = read(descriptor, &byte, 1)
      if count < 0 && errno == EINTR { continue }
      if count <= 0 || byte == 0x0A { break }
      guard line.count <= SecretValue.maximumByteCount else { throw VaultError.invalidInput("the input is too long") }
      line.append(byte)
    }
    if line.last == 0x0D { line.removeLast() }
    return SecretBytes(copying: line)
  }
}

/// Puts echo back if the user presses Ctrl-C at a no-echo prompt, then lets the signal act.
private enum EchoGuard {
  nonisolated(unsafe) static var descriptor: Int32 = -1
  nonisolated(unsafe) static var saved = termios()

  static func install(descriptor: Int32, saved: termios) {
    Self.descriptor = descriptor
    Self.saved = saved
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { number in
        var settings = EchoGuard.saved
        tcsetattr(EchoGuard.descriptor, TCSAFLUSH, &settings)
        Glibc.signal(number, SIG_DFL)
        raise(number)
      }
      sigaction(signal, &action, nil)
    }
  }

  static func restore() {
    guard descriptor >= 0 else { return }
    tcsetattr(descriptor, TCSAFLUSH, &saved)
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP] { Glibc.signal(signal, SIG_DFL) }
    descriptor = -1
  }
}

extension String {
  func trimmingSpaces() -> String {
    var text = Substring(self)
    while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
    while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
    return String(text)
  }
}
