import COpenSSL

/// Compares two byte strings in time that depends only on their lengths, never on where they
/// differ. The corresponding C function is `CRYPTO_memcmp`.
public func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
  guard lhs.count == rhs.count else { return false }
  if lhs.isEmpty { return true }
  return lhs.withUnsafeBytes { left in
    rhs.withUnsafeBytes { right in
      CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0
    }
  }
}
