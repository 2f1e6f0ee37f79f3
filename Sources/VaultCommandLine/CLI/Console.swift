#if canImport(Glibc)
  import Glibc
#endif

/// Writes to the process's standard streams with `write(2)`: unbuffered, so nothing is lost
/// when `vault` execs or exits, and no secret lingers in a stdio buffer.
enum Console {
  static func out(_ text: String) {
    write(STDOUT_FILENO, Array(text.utf8))
  }

  static func outBytes(_ bytes: [UInt8]) {
    write(STDOUT_FILENO, bytes)
  }

  /// Writes secret bytes straight from their wiped storage, with no intermediate copy.
  static func outRaw(_ bytes: UnsafeRawBufferPointer) {
    write(STDOUT_FILENO, bytes)
  }

  static func err(_ text: String) {
    write(STDERR_FILENO, Array(text.utf8))
  }

  /// `vault: error: <message>` and, when given, `vault: hint: <hint>`.
  static func error(_ message: String, hint: String? = nil) {
    err("vault: error: \(message)\n")
    if let hint { err("vault: hint: \(hint)\n") }
  }

  static func warning(_ message: String) {
    err("vault: warning: \(message)\n")
  }

  /// Warnings from the store, each kept once (a command that reads the vault twice warns once)
  /// and printed when the command ends (`flushWarnings`): after its output, or after its error
  /// line, so a failure's first line is still `vault: error:`.
  nonisolated(unsafe) private static var pending: [String] = []

  static func warningOnce(_ message: String) {
    if !pending.contains(message) { pending.append(message) }
  }

  /// Prints the pending warnings; `vault run` calls it before the program replaces `vault`.
  static func flushWarnings() {
    for message in pending { warning(message) }
    pending = []
  }

  /// Drops the pending warnings: the error about to be printed says the same.
  static func dropWarnings() {
    pending = []
  }

  private static func write(_ descriptor: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { write(descriptor, $0) }
  }

  private static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
      let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        return
      }
      offset += written
    }
  }

  static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
  static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
}
