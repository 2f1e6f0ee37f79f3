import COpenSSL

/// Drains OpenSSL's thread-local error queue into one line, so the failure that raised it
/// does not leak into the next, unrelated call.
func openSSLError(_ function: String) -> VaultCryptoError {
  var reasons: [String] = []
  while true {
    let code = ERR_get_error()
    if code == 0 { break }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
  }
  let detail = reasons.isEmpty ? "no detail" : reasons.joined(separator: "; ")
  return .underlyingOpenSSLError("\(function) failed: \(detail)")
}

/// Empties the error queue after a failure this layer turns into its own error.
func clearOpenSSLErrors() {
  ERR_clear_error()
}
