#ifndef LLM_VAULT_COPENSSLTLS_SHIM_H
#define LLM_VAULT_COPENSSLTLS_SHIM_H

// libssl, for the gateway's upstream TLS connections only (VaultTLS).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

// OpenSSL macros Swift cannot import, as functions.

/// `SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)`; 1 on success.
static inline int vault_tls_ctx_require_tls12(SSL_CTX *context) {
  return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

/// `SSL_CTX_get_min_proto_version(context)`: the floor, for tests.
static inline int vault_tls_ctx_min_proto_version(SSL_CTX *context) {
  return (int)SSL_CTX_get_min_proto_version(context);
}

/// `SSL_OP_IGNORE_UNEXPECTED_EOF`: an EOF without close_notify reads as a clean close
/// (SSL_ERROR_ZERO_RETURN); the HTTP layer above decides whether the body was complete.
static inline void vault_tls_ctx_treat_unexpected_eof_as_close(SSL_CTX *context) {
  SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

/// `SSL_set_tlsext_host_name(ssl, name)` (SNI); 1 on success.
static inline int vault_tls_set_server_name_indication(SSL *ssl, const char *name) {
  return (int)SSL_set_tlsext_host_name(ssl, name);
}

#endif
