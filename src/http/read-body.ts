/**
 * Reads and parses request bodies: media type checked first (415), declared size checked before a
 * byte is read (413), the stream cut off the moment it passes the limit, JSON parsed (400), and
 * hostile shapes refused (400, src/fhir/json-shape.ts) before any FHIR code sees them.
 */
import type { IncomingMessage } from 'node:http';
import { invalid, tooLarge, unsupportedMediaType } from '../fhir/errors';
import { checkJsonShape } from '../fhir/json-shape';

export const FHIR_JSON_TYPES: ReadonlySet<string> = new Set([
  'application/fhir+json',
  'application/json',
  'application/json+fhir',
]);
export const JSON_PATCH_TYPE = 'application/json-patch+json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface ParsedBody {
  mediaType: string;
  value: unknown;
}

export function mediaTypeOf(request: IncomingMessage): string | undefined {
  const header = request.headers['content-type'];
  if (!header) return undefined;
  return header.split(';', 1)[0]?.trim().toLowerCase();
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

export async function readBody(
  request: IncomingMessage,
  maxBytes: number,
  accepted: ReadonlySet<string>,
): Promise<ParsedBody | undefined> {
  if (!hasBody(request)) return undefined;
  const mediaType = mediaTypeOf(request);
  if (mediaType === undefined || !accepted.has(mediaType)) {
    throw unsupportedMediaType(
      `Content-Type '${mediaType ?? '(none)'}' is not accepted here; send ${[...accepted].join(' or ')}`,
    );
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(`The body is ${declared} bytes; the limit is ${maxBytes}`);
  const text = await readText(request, maxBytes);
  if (mediaType === FORM_TYPE) return { mediaType, value: new URLSearchParams(text) };
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw invalid(`The body is not valid JSON: ${(err as Error).message}`);
  }
  checkJsonShape(value);
  return { mediaType, value };
}

function readText(request: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        request.off('data', onData);
        request.pause();
        reject(tooLarge(`The body is larger than the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}
