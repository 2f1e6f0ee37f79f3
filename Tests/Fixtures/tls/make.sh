#!/bin/sh
# Makes the TEST-ONLY certificates and keys in this directory (see README.md).
# Run from anywhere: sh Tests/Fixtures/tls/make.sh. Needs the openssl command (3.x).
# Re-running replaces every file with new keys; the tests only need them to be consistent.
set -eu
cd "$(dirname "$0")"

DAYS=7305 # 20 years

# ca_cert NAME SUBJECT: a self-signed CA (P-256 key, NAME.key, NAME.pem).
ca_cert() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key.tmp"
  openssl pkcs8 -topk8 -nocrypt -in "$1.key.tmp" -out "$1.key"
  rm -f "$1.key.tmp"
  openssl req -x509 -new -sha256 -key "$1.key" -days "$DAYS" -subj "$2" -set_serial 1 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$1.pem"
}

# server_cert NAME CA SUBJECT SAN SERIAL: a server certificate (NAME.key, NAME.pem) signed by CA.
server_cert() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key.tmp"
  openssl pkcs8 -topk8 -nocrypt -in "$1.key.tmp" -out "$1.key"
  rm -f "$1.key.tmp"
  openssl req -new -sha256 -key "$1.key" -subj "$3" -out "$1.csr"
  cat >"$1.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$4
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
  openssl x509 -req -sha256 -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$5" \
    -days "$DAYS" -extfile "$1.ext" -out "$1.pem"
  rm -f "$1.csr" "$1.ext"
}

# The test CA and the fake upstream's certificate.
ca_cert ca "/CN=llm-vault TEST-ONLY CA"
server_cert server ca "/CN=localhost" "DNS:localhost,IP:127.0.0.1,DNS:upstream.test" 2

# An unrelated CA and a certificate for the same names signed by it, for negative tests.
ca_cert other-ca "/CN=llm-vault TEST-ONLY other CA"
server_cert other-server other-ca "/CN=localhost" "DNS:localhost,IP:127.0.0.1,DNS:upstream.test" 2

openssl verify -CAfile ca.pem server.pem
openssl verify -CAfile other-ca.pem other-server.pem
