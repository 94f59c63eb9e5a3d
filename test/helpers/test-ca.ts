/**
 * The tests' certificate authority: a CA, server certificates for 127.0.0.1 and localhost (valid,
 * expired, from a CA nobody trusts) and client certificates, made with the `openssl` CLI by
 * bench/lib/test-ca.js (one copy, shared with the bench, which is plain JS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, makeCa, type PemFiles } from '../../bench/lib/test-ca';

export { issueCertificate, makeCa, type PemFiles };

export interface KeyPair {
  key: string;
  cert: string;
}

/** What a server on 127.0.0.1 or localhost presents. */
export const LOOPBACK_NAMES = ['IP:127.0.0.1', 'DNS:localhost'];

export interface CertificateFolder {
  dir: string;
  remove: () => void;
}

/** A new empty folder for certificate files, and how to remove it. */
export function certificateFolder(prefix: string): CertificateFolder {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A server certificate for 127.0.0.1 and localhost from the CA `ca` in `dir`, valid `days`. */
export function makeServerCert(dir: string, ca: string, name: string, days: number): KeyPair {
  const { key, cert } = issueCertificate(dir, ca, name, {
    days,
    commonName: 'localhost',
    altNames: LOOPBACK_NAMES,
  });
  return { key, cert };
}
