#!/usr/bin/env bash
# Make TLS certificates and SuperNode authentication keys for a Flower 1.42 deployment.
#
#   scripts/make_test_certs.sh OUT_DIR [N_NODES]        (N_NODES defaults to 2)
#
# Writes, with openssl and ssh-keygen only:
#   OUT_DIR/ca.crt, ca.key          a self-signed CA (EC P-384, 825 days)
#   OUT_DIR/server.pem, server.key  the SuperLink's certificate, signed by the CA, with
#                                   subjectAltName localhost, 127.0.0.1, ::1 and $SUPERLINK_SANS
#   OUT_DIR/keys/nodeK, nodeK.pub   SuperNode authentication keys (K = 1..N_NODES): EC P-384
#                                   in OpenSSH format, as `flwr supernode register` and
#                                   `flower-supernode --auth-supernode-private-key` read them
#
# Environment:
#   SUPERLINK_SANS="DNS:link.example.org,IP:10.0.0.5"  extra subjectAltNames: the names and
#                   addresses SuperNodes and the `flwr` CLI use to reach the SuperLink
#   FORCE=1         write into an existing OUT_DIR, replacing the files above
#
# For tests and small private federations: the CA key sits next to the certificates; keep
# ca.key and keys/nodeK away from the machines that do not need them.
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR [N_NODES]   (env: SUPERLINK_SANS, FORCE=1)" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
out=$1
n=${2:-2}
[[ $n =~ ^[0-9]+$ ]] || { echo "$0: N_NODES must be a number, got '$n'" >&2; exit 2; }

for tool in openssl ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found (Debian: apt-get install openssl openssh-client)" >&2; exit 1; }
done

if [[ -e $out ]]; then
    if [[ ${FORCE:-0} != 1 ]]; then
        echo "$0: $out already exists; choose another OUT_DIR or set FORCE=1 to replace its files" >&2
        exit 1
    fi
    # only what this script writes; anything else in OUT_DIR stays
    rm -f -- "$out"/ca.crt "$out"/ca.key "$out"/server.pem "$out"/server.key "$out"/keys/node*
fi
mkdir -p "$out/keys"
out=$(cd "$out" && pwd)
umask 077
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
# run a command quietly; show its output only when it fails
quiet() { "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; echo "$0: failed: $*" >&2; exit 1; }; }

sans="DNS:localhost,IP:127.0.0.1,IP:::1"
if [[ -n ${SUPERLINK_SANS:-} ]]; then
    sans="$sans,$SUPERLINK_SANS"
fi

# CA
quiet openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -sha384 \
    -days 825 -subj "/CN=Flower test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -keyout "$out/ca.key" -out "$out/ca.crt"

# SuperLink server certificate
quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -sha384 \
    -subj "/CN=Flower SuperLink" -keyout "$out/server.key" -out "$tmp/server.csr"
cat > "$tmp/server.ext" <<EXT
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
subjectAltName = $sans
EXT
quiet openssl x509 -req -in "$tmp/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -CAcreateserial -CAserial "$tmp/ca.srl" -days 825 -sha384 -extfile "$tmp/server.ext" \
    -out "$out/server.pem"
quiet openssl verify -CAfile "$out/ca.crt" "$out/server.pem"

# SuperNode authentication keys (OpenSSH format, NIST P-384)
for ((k = 1; k <= n; k++)); do
    quiet ssh-keygen -q -t ecdsa -b 384 -N "" -C "flower-supernode-$k" -f "$out/keys/node$k"
done
chmod 644 "$out/ca.crt" "$out/server.pem" "$out/keys/"*.pub 2>/dev/null || true

echo "Wrote to $out:"
echo "  ca.crt, ca.key          CA"
echo "  server.pem, server.key  SuperLink certificate (subjectAltName: $sans)"
if ((n > 0)); then
    echo "  keys/node1 .. keys/node$n (+ .pub)  SuperNode authentication keys"
fi
cat <<USE

Use them:
  flower-superlink --ssl-ca-certfile $out/ca.crt --ssl-certfile $out/server.pem \\
      --ssl-keyfile $out/server.key --enable-supernode-auth --host 0.0.0.0 --port 8000
  # \$FLWR_HOME/config.toml (default ~/.flwr) on the machine running the flwr CLI:
  #   [superlink.mylink]
  #   address = "<superlink-host>:8000"
  #   root-certificates = "$out/ca.crt"
  flwr supernode register $out/keys/node1.pub mylink
  flower-supernode --root-certificates $out/ca.crt --superlink <superlink-host>:8000 \\
      --auth-supernode-private-key $out/keys/node1 --node-config "data-path='shards/client-0000.json'"
USE
