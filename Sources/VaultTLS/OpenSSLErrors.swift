import COpenSSLTLS
import Glibc

/// Empties the thread's OpenSSL error queue, so that what is found there after the next call
/// was raised by that call. Called before every OpenSSL call whose failure is examined.
func clearOpenSSLErrors() {
  ERR_clear_error()
}

/// Drains the thread's OpenSSL error queue into its reason strings, oldest first, without
/// repeats ("certificate verify failed", "wrong version number").
func drainOpenSSLErrors() -> [String] {
  var reasons: [String] = []
  while true {
    let code = ERR_get_error()
    if code == 0 { break }
    let reason: String
    if let text = ERR_reason_error_string(code) {
      reason = String(cString: text)
    } else {
      var buffer = [CChar](repeating: 0, count: 256)
      ERR_error_string_n(code, &buffer, buffer.count)
      reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    let lowered = reason.lowercased()  // a few reasons start with a capital ("IP address mismatch")
    if !reasons.contains(lowered) { reasons.append(lowered) }
  }
  return reasons
}

/// `what: reason; reason` from the error queue (drained), or `what` alone when it is empty.
func openSSLError(_ what: String) -> TLSError {
  let reasons = drainOpenSSLErrors()
  return TLSError(reasons.isEmpty ? what : "\(what): \(reasons.joined(separator: "; "))")
}

/// `strerror(code)` starting lower-case ("no such file or directory").
func describeErrno(_ code: Int32) -> String {
  guard let text = strerror(code) else { return "error \(code)" }
  let description = String(cString: text)
  return description.prefix(1).lowercased() + description.dropFirst()
}
