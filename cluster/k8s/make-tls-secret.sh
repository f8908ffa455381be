#!/usr/bin/env bash
# Make the TLS material brgvc's Dask pods use, and (optionally) store it as a Kubernetes Secret.
#
#   cluster/k8s/make-tls-secret.sh DIR                      # files only
#   cluster/k8s/make-tls-secret.sh DIR NAMESPACE [SECRET]   # + kubectl create secret generic
#
# Writes DIR/ca.crt, DIR/ca.key (keep it offline or delete it), DIR/tls.crt and DIR/tls.key: one
# certificate, signed by a private CA, shared by scheduler, workers and runner (distributed
# verifies the peer against the CA; it does not check host names). The Secret holds ca.crt,
# tls.crt and tls.key (default name brgvc-dask-tls, the profile's tls.secret). No secret ever
# goes into the repository or a rendered manifest: pods mount the Secret read-only.
set -euo pipefail
dir=${1:?usage: $0 DIR [NAMESPACE [SECRET]]}
ns=${2:-}
secret=${3:-brgvc-dask-tls}
days=${BRGVC_TLS_DAYS:-365}
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey rsa:3072 -nodes -days "$days" -subj "/CN=brgvc-dask-ca" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=brgvc-dask" \
  -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
cat >"$dir/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:*.svc.cluster.local,DNS:localhost,IP:127.0.0.1
EXT
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days "$days" -extfile "$dir/ext.cnf" -out "$dir/tls.crt" 2>/dev/null
rm -f "$dir/tls.csr" "$dir/ext.cnf" "$dir/ca.srl"
chmod 644 "$dir/ca.crt" "$dir/tls.crt"
if [[ -n $ns ]]; then
  kubectl -n "$ns" create secret generic "$secret" \
    --from-file=ca.crt="$dir/ca.crt" --from-file=tls.crt="$dir/tls.crt" \
    --from-file=tls.key="$dir/tls.key"
fi
echo "$dir: ca.crt tls.crt tls.key${ns:+ -> secret $ns/$secret}"
