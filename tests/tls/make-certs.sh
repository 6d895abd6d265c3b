#!/bin/sh
# Regenerates the TLS test data of this folder: the unit tests of the `tls`
# feature read these files, so they stay in the repository and this script is
# only for when they must change. Valid for 100 years, so that no test breaks
# on a date.
#
#   ca.pem, ca.key                 the test CA
#   server.pem, server.key         localhost (DNS:localhost, IP:127.0.0.1), serverAuth
#   server-rsa.pem, .key           the same with an RSA 2048 key: a handshake
#                                  the server's signature dominates, for
#                                  benchmarking handshakes per second
#   client.pem, client.key         a client of the test CA, clientAuth
#   other-ca.pem, other-ca.key     an unrelated CA
#   other-client.pem, .key         a client of the unrelated CA (refused by
#                                  a server that trusts ca.pem alone)
#
# Keys: EC P-256, and RSA 2048 for the other CA's client, so that a handshake
# signs with both kinds of key that rustls takes with ring. The three
# private key encodings rustls reads are all here, for the loader's tests:
# server.key is PKCS#8, client.key is SEC1, other-client.key is PKCS#1.
# Certificates are X.509 v3 with the extensions webpki checks: a CA has
# basicConstraints CA:TRUE and keyCertSign; an end entity CA:FALSE, its key
# usage (digitalSignature: rustls has no RSA key exchange, so no
# keyEncipherment) and the extended key usage of its side.
set -eu
cd "$(dirname "$0")"
DAYS=36500
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ec_key() { # PKCS#8
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

ca() { # name subject
    ec_key "$1.key"
    cat >"$work/$1.ext" <<EXT
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EXT
    openssl req -new -key "$1.key" -subj "$2" -out "$work/$1.csr"
    openssl x509 -req -in "$work/$1.csr" -signkey "$1.key" -days "$DAYS" -sha256 \
        -extfile "$work/$1.ext" -out "$1.pem"
}

leaf() { # name subject ca extendedKeyUsage [subjectAltName]
    cat >"$work/$1.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $4
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
    if [ $# -ge 5 ]; then echo "subjectAltName = $5" >>"$work/$1.ext"; fi
    openssl req -new -key "$1.key" -subj "$2" -out "$work/$1.csr"
    openssl x509 -req -in "$work/$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
        -CAserial "$work/$3.srl" -days "$DAYS" -sha256 -extfile "$work/$1.ext" -out "$1.pem"
}

ca ca "/CN=frameloop test CA"
ca other-ca "/CN=frameloop other test CA"

ec_key server.key
leaf server "/CN=localhost" ca serverAuth "DNS:localhost, IP:127.0.0.1"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server-rsa.key
leaf server-rsa "/CN=localhost" ca serverAuth "DNS:localhost, IP:127.0.0.1"

# SEC1 ("EC PRIVATE KEY").
openssl ecparam -name prime256v1 -genkey -noout -out client.key
leaf client "/CN=frameloop test client" ca clientAuth

# PKCS#1 ("RSA PRIVATE KEY").
openssl genrsa -traditional -out other-client.key 2048
leaf other-client "/CN=frameloop other client" other-ca clientAuth

# The CA keys stay too: with them a test can sign more certificates later.
openssl verify -CAfile ca.pem server.pem server-rsa.pem client.pem
openssl verify -CAfile other-ca.pem other-client.pem
