import COpenSSL

/// What OpenSSL sets up before its first use in this process.
///
/// By default (`Algorithms`) it loads its error strings and its legacy digest names, which the
/// gateway's TLS needs: X.509 signature checks find their digest by legacy name, and a failed
/// handshake or a bad CA file is reported in words. Every command but `vault serve` needs
/// neither (`Command.usesTLS`), and paid for both: the error strings alone were 0.9 M
/// instructions of a 10-key `vault run`, and the legacy names, copied into the name map that
/// scrypt's fetch builds, 4.6 M of every command with the passphrase (bench/README.md).
public enum OpenSSLStartup {
  /// Skips the error strings and the legacy digest names for the rest of the process, and the
  /// exit handler that frees OpenSSL's tables (the kernel takes the memory back anyway; keys
  /// live in `SecretBytes`, which wipe themselves).
  ///
  /// Call before anything else uses OpenSSL, and only in a process that never does TLS or
  /// X.509: OpenSSL decides each of these once per process, so after this a libcrypto failure
  /// reads `reason(N)` instead of its text, and a later TLS handshake could not verify a
  /// certificate. A call after OpenSSL's start-up changes nothing.
  public static func lean() {
    let options =
      OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS
      | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ATEXIT
    _ = OPENSSL_init_crypto(UInt64(options), nil)
  }

  /// Starts OpenSSL's default provider in the vault's own library context now, on this thread,
  /// for code outside this module that is about to use the process's default context (libssl):
  /// OpenSSL 3.0 must not start the provider in two contexts at once on two threads
  /// (`AlgorithmSubset.startBeforeTheDefaultContext`, which this module's own users of the
  /// default context call themselves).
  public static func startProvidersInOrder() {
    AlgorithmSubset.startBeforeTheDefaultContext()
  }
}
