import COpenSSLTLS
import Glibc

/// Shared client configuration: the trust store and the protocol floor, in one `SSL_CTX`.
///
/// Thread-safe after `init`: nothing changes the `SSL_CTX` afterwards, and OpenSSL allows many
/// threads to make connections (`SSL_new`) from one context at once.
public final class TLSClientContext: @unchecked Sendable {
  /// The `SSL_CTX *`, owned; freed by `deinit`.
  let pointer: OpaquePointer

  /// The system's default trust store, plus each PEM file in `extraCAFiles` (added, not
  /// replacing). TLS 1.2 minimum, peer verification on.
  ///
  /// The system store is OpenSSL's compiled-in file and directory (`/usr/lib/ssl/cert.pem`,
  /// `/usr/lib/ssl/certs` on Debian), read without looking at `SSL_CERT_FILE`/`SSL_CERT_DIR`
  /// (`SSL_CTX_set_default_verify_paths` would let `SSL_CERT_FILE` replace the system store;
  /// `fromEnvironment` adds it instead). A missing system store is not an error, so a
  /// container with only a private CA works; a missing or certificate-less extra file is.
  public convenience init(extraCAFiles: [String]) throws(TLSError) {
    try self.init(caFiles: extraCAFiles.map { ($0, nil) })
  }

  /// `SSL_CERT_FILE` and `VAULT_CA_FILE`, when set and non-empty, each ADD a CA file to the
  /// system store (see `init(extraCAFiles:)`). `SSL_CERT_DIR` is not read.
  public static func fromEnvironment(_ environment: [String: String]) throws(TLSError) -> TLSClientContext {
    let files = ["SSL_CERT_FILE", "VAULT_CA_FILE"].compactMap { name -> (String, String?)? in
      guard let path = environment[name], !path.isEmpty else { return nil }
      return (path, name)
    }
    return try TLSClientContext(caFiles: files)
  }

  /// `caFiles`: each path with the environment variable that named it, for the error message.
  private init(caFiles: [(path: String, variable: String?)]) throws(TLSError) {
    clearOpenSSLErrors()
    guard let context = SSL_CTX_new(TLS_client_method()) else {
      throw openSSLError("cannot create a tls context")
    }
    do throws(TLSError) {
      try Self.configure(context, caFiles: caFiles)
    } catch {
      SSL_CTX_free(context)
      throw error
    }
    pointer = context
  }

  deinit {
    SSL_CTX_free(pointer)
  }

  /// The lowest protocol version allowed (`TLS1_2_VERSION`, 0x0303), for tests: the system's
  /// openssl.cnf usually sets the same floor, so a TLS 1.1 server alone cannot show ours.
  var minimumProtocolVersion: Int32 { vault_tls_ctx_min_proto_version(pointer) }

  private static func configure(_ context: OpaquePointer, caFiles: [(path: String, variable: String?)])
    throws(TLSError)
  {
    clearOpenSSLErrors()
    guard vault_tls_ctx_require_tls12(context) == 1 else {
      throw openSSLError("cannot set the minimum protocol version to tls 1.2")
    }
    // Verification failures abort the handshake (no callback overrides them); the name check
    // is set per connection (TLSConnection).
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    // A peer that closes without close_notify reads as end of stream; HTTP framing (length,
    // chunked terminator) is what tells a complete response from a truncated one.
    vault_tls_ctx_treat_unexpected_eof_as_close(context)

    let systemFile = String(cString: X509_get_default_cert_file())
    let systemDirectory = String(cString: X509_get_default_cert_dir())
    if access(systemFile, R_OK) == 0 {
      clearOpenSSLErrors()
      guard SSL_CTX_load_verify_file(context, systemFile) == 1 else {
        throw openSSLError("cannot load the system trust store \(systemFile)")
      }
    }
    if access(systemDirectory, R_OK | X_OK) == 0 {
      clearOpenSSLErrors()
      guard SSL_CTX_load_verify_dir(context, systemDirectory) == 1 else {
        throw openSSLError("cannot use the system trust store \(systemDirectory)")
      }
    }
    for (path, variable) in caFiles {
      let named = variable.map { "ca file \(path) (\($0))" } ?? "ca file \(path)"
      guard access(path, R_OK) == 0 else {
        throw TLSError("cannot read \(named): \(describeErrno(errno))")
      }
      clearOpenSSLErrors()
      guard SSL_CTX_load_verify_file(context, path) == 1 else {
        throw openSSLError("cannot load \(named)")
      }
    }
    clearOpenSSLErrors()
  }
}
