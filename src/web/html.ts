/**
 * HTML for the web directory: a tagged template that escapes every interpolated value, so a name a
 * client stored (`<script>…`) is shown as text, never run. Only what another `html` template (or
 * `trusted`, for our own constant markup) produced goes in unescaped. No templating library: the
 * pages are a handful of small functions and this is the whole of what they need.
 */

/** Markup that is already safe to send: built by `html` from escaped values. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What a page may interpolate: text (escaped), markup, numbers, lists of them; nothing for empty. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as it may appear in an element or a double- or single-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  // `false`, null and undefined render nothing, so `cond && html\`…\`` reads naturally.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Our own constant markup (never anything from a request or the store). */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
