import { escapeHtml, html, trusted } from './html';

describe('html', () => {
  it('escapes the five characters that end text or a quoted attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('escapes every interpolated value, in text and in attributes, and in lists', () => {
    const name = '<script>alert(1)</script>';
    expect(html`<p title="${name}">${name}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
    // prettier-ignore
    const list = html`<ul>${['<b>', 2].map((v) => html`<li>${v}</li>`)}</ul>`;
    expect(list.text).toBe('<ul><li>&lt;b&gt;</li><li>2</li></ul>');
  });

  it('puts markup built by html (or trusted constants) in as it is, and nothing for false, null, undefined', () => {
    expect(html`<div>${html`<em>${'&'}</em>`}${trusted('<hr>')}${false}${null}${undefined}</div>`.text).toBe(
      '<div><em>&amp;</em><hr></div>',
    );
  });
});
