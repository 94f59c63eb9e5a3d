/**
 * A request whose request line and headers pass Node's 16 KB limit never reaches express: the HTTP
 * parser fails with HPE_HEADER_OVERFLOW and src/http/server.ts answers on the socket itself. Sent
 * here over a raw socket, as a client would, both ways a request gets there (a very long URL, many
 * headers): each gets a 431 whose body is a FHIR OperationOutcome.
 */
import { connect } from 'node:net';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

/** Sends `head` as is and reads everything the server answers until it closes the connection. */
function rawExchange(head: string): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(dir.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Writing the rest of a huge request after the server answered and closed: ECONNRESET/EPIPE.
    socket.on('error', (err) => {
      if (chunks.length === 0) reject(err);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const headers = text.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]),
        headers,
        body: text.slice(split + 4),
      });
    });
    // The server may answer and close before it has read all of it.
    // Not end(): a client that half-closes its side may see the server drop a request still being
    // answered; `Connection: close` (or the 431) has the server close once it has answered.
    socket.on('connect', () => socket.write(head));
  });
}

function expectTooLarge(res: { status: number; headers: string; body: string }): void {
  expect(res.status).toBe(431);
  expect(res.headers.toLowerCase()).toContain('content-type: application/fhir+json');
  const outcome = JSON.parse(res.body) as {
    resourceType: string;
    issue: { severity: string; code: string }[];
  };
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'too-long' });
}

describe('Request headers over 16 KB', () => {
  it('answers a GET with a 20 KB URL 431 with an OperationOutcome', async () => {
    const path = `/fhir/Organization?name=${'a'.repeat(20_000)}`;
    expectTooLarge(await rawExchange(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
  });

  it('answers a GET with a 200 KB URL 431 with an OperationOutcome', async () => {
    const path = `/fhir/Organization?name=${'a'.repeat(200_000)}`;
    expectTooLarge(await rawExchange(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
  });

  it('answers a GET with 40 headers of 500 bytes 431 with an OperationOutcome', async () => {
    const headers = Array.from({ length: 40 }, (_, i) => `x-filler-${i}: ${'b'.repeat(500)}\r\n`).join('');
    expectTooLarge(await rawExchange(`GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`));
  });

  it('still answers a request just under the limit', async () => {
    const path = `/fhir/Organization?name=${'a'.repeat(12_000)}`;
    const res = await rawExchange(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    expect(res.status).not.toBe(431);
    expect(res.status).toBeLessThan(500);
  });
});
