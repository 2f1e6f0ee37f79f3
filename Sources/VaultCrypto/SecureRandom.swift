import CLinux
import COpenSSL
import Glibc

/// Random bytes from OpenSSL's CSPRNG. The corresponding C function is `RAND_bytes`.
public enum SecureRandom {
  /// `count` random bytes.
  public static func bytes(count: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: count)
    if count == 0 { return output }
    AlgorithmSubset.startBeforeTheDefaultContext()
    let status = output.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32($0.count)) }
    guard status == 1 else { throw openSSLError("RAND_bytes") }
    return output
  }

  /// A fresh random key of `count` bytes, generated straight into wiped storage.
  public static func secret(count: Int) throws -> SecretBytes {
    AlgorithmSubset.startBeforeTheDefaultContext()
    return try SecretBytes(count: count) { destination in
      guard RAND_bytes(destination.baseAddress, Int32(destination.count)) == 1 else {
        throw openSSLError("RAND_bytes")
      }
    }
  }

  /// Instantiates OpenSSL's generator now, so that its first use later is quick: that
  /// instantiation fetches the DRBG's cipher from the default context, which builds every cipher
  /// OpenSSL has (3 M instructions). A save calls this on the thread that parses the vault while
  /// scrypt runs on the other: the generator is shared, and the writing thread's own later
  /// instantiation finds the cipher built. A failure is left for the first real call to report.
  public static func prepare() {
    _ = try? bytes(count: 1)
  }

  /// `count` unpredictable bytes from the kernel's generator (`getrandom`), for what must not be
  /// guessed but is no key: the random part of a temporary file's name. OpenSSL's generator
  /// would serve as well, but its start-up fetches a cipher from the default context, which
  /// builds every cipher OpenSSL has (2.9 M instructions): more than everything else `vault run`
  /// does with 10 keys, which needs no other random bytes. Where the kernel refuses the call (no
  /// getrandom, or a seccomp filter that denies it), OpenSSL's generator serves after all.
  public static func nameBytes(count: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
      let read = output.withUnsafeMutableBytes { getrandom($0.baseAddress! + filled, count - filled, 0) }
      if read < 0 {
        let error = errno
        if error == EINTR { continue }
        if error == ENOSYS || error == EPERM { return try bytes(count: count) }
        throw VaultCryptoError.randomSourceFailure(errno: error)
      }
      filled += read
    }
    return output
  }
}
