#ifndef LLM_VAULT_COPENSSLTLS_SHIM_H
#define LLM_VAULT_COPENSSLTLS_SHIM_H

// libssl, for the gateway's upstream TLS connections only (VaultTLS).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#endif
