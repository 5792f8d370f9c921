#!/usr/bin/env bash
# make-dev-keys.sh DIR: throw-away release keys for demos and tests:
# release-ca.{key,pem} (root CA, what devices trust) and release.{key,pem}
# (bundle signing: CA:FALSE, digitalSignature, EKU codeSigning, as the
# verifier requires of a signer; manifests/FORMAT.md §5).
# Never use these for a real device.
set -euo pipefail
d=${1:?usage: make-dev-keys.sh DIR}
mkdir -p "$d"
cd "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/O=imabundle demo/CN=Demo Release CA" -keyout release-ca.key -out release-ca.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=imabundle demo/CN=Demo Release Signing" -keyout release.key -out release.csr 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,codeSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > leaf.ext
openssl x509 -req -in release.csr -CA release-ca.pem -CAkey release-ca.key -CAcreateserial \
  -days 730 -extfile leaf.ext -out release.pem 2>/dev/null
rm -f release.csr leaf.ext release-ca.srl
chmod 600 release-ca.key release.key
