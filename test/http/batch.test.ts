import { call } from '../helpers/fhir-client';
import { endpoint, organization } from '../helpers/resources';
import { startTestDirectory, type TestDirectory } from '../helpers/test-directory';

let dir: TestDirectory;
beforeAll(async () => { dir = await startTestDirectory(); });
afterAll(() => dir.close());
const show = (label: string, r: any) => console.log(label, r.status, JSON.stringify(r.body, null, 1));
it('probe', async () => {
  const org = await call('POST', dir.url('/Organization'), organization());
  const id = org.body.id;
  show('batch', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'batch', entry: [
    { resource: organization({ name: 'B ok' }), request: { method: 'POST', url: 'Organization' } },
    { resource: endpoint({ status: 'bogus' as any }), request: { method: 'POST', url: 'Endpoint' } },
    { request: { method: 'GET', url: 'Organization/unknown-id' } },
    { request: { method: 'GET', url: `Organization?_id=${id}` } },
    { resource: endpoint(), request: { method: 'POST', url: 'Organization' } },
    { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Organization' } },
    { resource: organization(), request: { method: 'POST', url: 'Patient' } },
  ]}));
  show('txGetNaN', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [
    { request: { method: 'GET', url: `Organization/${id}/_history/abc` } } ]}));
  show('txTypeMismatch', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: organization(), request: { method: 'POST', url: 'Organization' } },
    { resource: endpoint(), request: { method: 'POST', url: 'Organization' } } ]}));
  show('txGet404', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [
    { request: { method: 'GET', url: `Organization/nope` } } ]}));
  show('txvalid', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: endpoint({ status: 'bogus' as any }), request: { method: 'POST', url: 'Endpoint' } } ]}));
  show('txEmpty', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction'}));
  show('txDelete', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [
    { request: { method: 'DELETE', url: `Organization/${id}` } } ]}, {prefer: 'return=OperationOutcome'}));
  show('txPutNoId', await call('POST', dir.url(''), { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: organization(), request: { method: 'PUT', url: `Organization/abc` } } ]}));
  show('batchPatientStored', await call('GET', dir.url('/_history?_count=3')));
});
