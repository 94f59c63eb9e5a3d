/** `clients list` for a person: one line per client, columns aligned, the scopes last (they are long). */
import type { ClientRecord } from '../storage/auth-store';
import type { CliOutput } from './cli-io';

const COLUMNS: Array<[string, (c: ClientRecord) => string]> = [
  ['CLIENT_ID', (c) => c.clientId],
  ['NAME', (c) => c.name],
  ['ORGANIZATION', (c) => c.organization ?? '-'],
  ['ADMIN', (c) => (c.admin ? 'yes' : 'no')],
  ['STATUS', (c) => (c.disabled ? 'disabled' : 'enabled')],
  [
    'KEYS',
    (c) => (c.credentials.kind === 'jwks' ? `jwks (${c.credentials.jwks.keys.length})` : c.credentials.url),
  ],
  ['SCOPES', (c) => c.scopes.join(' ')],
];

export function printClientTable(clients: ClientRecord[], out: CliOutput): void {
  const rows = [COLUMNS.map(([title]) => title), ...clients.map((c) => COLUMNS.map(([, cell]) => cell(c)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd(),
  );
  if (clients.length === 0) lines.push('(no clients registered: fhir-directory clients add …)');
  out.write(`${lines.join('\n')}\n`);
}
