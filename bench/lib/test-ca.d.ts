/** Types of test-ca.js, for test/helpers/test-ca.ts. */
export interface PemFiles {
  key: string;
  cert: string;
  keyPath: string;
  certPath: string;
}
export interface CertificateOptions {
  days?: number;
  commonName?: string;
  altNames?: string[];
}
export function makeCa(dir: string, name: string, days?: number): PemFiles;
export function issueCertificate(
  dir: string,
  ca: string,
  name: string,
  options?: CertificateOptions,
): PemFiles;
