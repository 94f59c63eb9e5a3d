import { call } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => {
  dir = await startTestDirectory();
});
afterAll(() => dir.close());

it('probe', async () => {
  const out: unknown[] = [];
  const probe = async (label: string, method: string, path: string, body: unknown) => {
    const res = await call(method, dir.url(path), body);
    out.push({ label, status: res.status, body: res.body ?? res.text.slice(0, 300) });
  };
  await probe('partOf {}', 'POST', '/Organization', { ...organization(), partOf: {} });
  await probe('identifier []', 'POST', '/Organization', { ...organization(), identifier: [] });
  await probe('name empty', 'POST', '/Organization', { ...organization(), name: '' });
  await probe('name null', 'POST', '/Organization', { ...organization(), name: null });
  await probe('identifier null', 'POST', '/Organization', { ...organization(), identifier: null });
  await probe('endpoint payloadType {}', 'POST', '/Endpoint', { ...endpoint(), payloadType: {} });
  await probe('ep payloadType obj', 'POST', '/Endpoint', { ...endpoint(), payloadType: {text:'x'} });
  require('fs').writeFileSync('/tmp/probe/out.json', JSON.stringify(out, null, 1));
});
