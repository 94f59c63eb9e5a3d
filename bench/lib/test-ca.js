'use strict';
/*
 * A throwaway certificate authority made with the `openssl` CLI (node:crypto cannot issue X.509
 * certificates), for the tests and the bench that serve or present TLS on 127.0.0.1. One copy: the
 * tests use it through test/helpers/test-ca.ts, the bench requires it directly (plain JS, no build).
 * Every file is written in the folder the caller gives; the caller removes it.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

function openssl(dir, args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function read(dir, file) {
  return fs.readFileSync(path.join(dir, file), 'utf8');
}

/** A self-signed CA `name` in `dir` (name.key, name.crt), valid `days` (default 30). */
function makeCa(dir, name, days = 30) {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-subj',
    `/CN=${name}`,
  ]);
  return pemFiles(dir, name);
}

/**
 * A certificate `name` (name.key, name.crt in `dir`) issued by the CA `ca` (made by makeCa in the
 * same folder). `altNames` (e.g. ['IP:127.0.0.1', 'DNS:localhost']) makes it a server certificate;
 * without it, a client certificate. `days` may be negative: openssl 3 then sets notAfter before
 * notBefore, a certificate expired from the start.
 */
function issueCertificate(dir, ca, name, { days = 30, commonName = name, altNames } = {}) {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${commonName}`,
  ]);
  const extension = [];
  if (altNames && altNames.length > 0) {
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${altNames.join(',')}\n`);
    extension.push('-extfile', `${name}.ext`);
  }
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    ...extension,
  ]);
  return pemFiles(dir, name);
}

/** The PEM texts and the paths of name.key and name.crt in `dir`. */
function pemFiles(dir, name) {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.crt`);
  return { key: read(dir, `${name}.key`), cert: read(dir, `${name}.crt`), keyPath, certPath };
}

module.exports = { makeCa, issueCertificate };
