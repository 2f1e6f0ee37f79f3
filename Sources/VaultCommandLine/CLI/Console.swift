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
