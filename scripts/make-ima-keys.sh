#!/usr/bin/env bash
# make-ima-keys.sh DIR: throw-away IMA/EVM keys as the kernel wants them: a
# root CA (ima-ca.{key,pem,der}) and signing certificates under it with
# digitalSignature, CA:FALSE, SKID=hash and AKID (ima-rsa.* RSA-2048,
# ima-ec.* P-256). Never use these for a real device.
set -euo pipefail
d=${1:?usage: make-ima-keys.sh DIR}
mkdir -p "$d"; cd "$d"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=imabundle demo/CN=Demo IMA CA" \
  -keyout ima-ca.key -out ima-ca.pem -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl x509 -in ima-ca.pem -outform DER -out ima-ca.der
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nextendedKeyUsage=codeSigning\n' > ima.ext
for kind in rsa ec; do
  if [ $kind = rsa ]; then newkey=(-newkey rsa:2048); else newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); fi
  openssl req "${newkey[@]}" -nodes -subj "/O=imabundle demo/CN=Demo IMA signing ($kind)" \
    -keyout ima-$kind.key -out ima-$kind.csr 2>/dev/null
  openssl x509 -req -in ima-$kind.csr -CA ima-ca.pem -CAkey ima-ca.key -CAcreateserial -days 730 \
    -extfile ima.ext -outform DER -out ima-$kind.der 2>/dev/null
  openssl x509 -inform DER -in ima-$kind.der -out ima-$kind.pem
  rm -f ima-$kind.csr
done
rm -f ima.ext ima-ca.srl
chmod 600 ./*.key
