/**
 * The web directory's one stylesheet, served at /assets/web.css (a module constant rather than a
 * file beside the code: `tsc` copies no .css into dist/). Colours keep a contrast of 4.5:1 or more
 * (WCAG 1.4.3); every focusable element shows a visible outline (2.4.7); one column below 40em.
 */
export const STYLESHEET = `
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; color: #1b1f24; background: #fff; }
body { margin: 0; }
a { color: #0b57a4; }
a:hover { color: #063a70; }
:focus-visible { outline: 3px solid #b3261e; outline-offset: 2px; }
.skip { position: absolute; left: -999em; top: 0; background: #fff; padding: .5em 1em; z-index: 10; }
.skip:focus { left: 1em; }
header.site { background: #12355b; color: #fff; }
header.site nav { display: flex; flex-wrap: wrap; align-items: center; gap: .5em 2em; max-width: 70em; margin: 0 auto; padding: .75em 1em; }
header.site a { color: #fff; }
header.site .brand { font-weight: 700; font-size: 1.15em; text-decoration: none; }
header.site ul { display: flex; flex-wrap: wrap; gap: 1em; list-style: none; margin: 0; padding: 0; }
main { display: block; max-width: 70em; margin: 0 auto; padding: 1em; }
main:focus { outline: none; }
footer.site { max-width: 70em; margin: 2em auto 0; padding: 1em; border-top: 1px solid #c9d1d9; color: #454c54; font-size: .9em; }
h1 { font-size: 1.6em; margin: .3em 0 .6em; }
h2 { font-size: 1.25em; margin: 1.5em 0 .5em; }
h3 { font-size: 1.05em; margin: 1em 0 .4em; }
form.search { display: grid; grid-template-columns: repeat(auto-fill, minmax(13em, 1fr)); gap: .75em 1em; padding: 1em; background: #f3f6f9; border: 1px solid #c9d1d9; border-radius: 6px; }
form.search label { display: block; font-weight: 600; font-size: .9em; }
form.search input, form.search select { width: 100%; padding: .45em; font: inherit; border: 1px solid #6e7781; border-radius: 4px; background: #fff; color: inherit; }
form.search .actions { display: flex; gap: 1em; align-items: end; }
button { font: inherit; padding: .5em 1.2em; border: 0; border-radius: 4px; background: #0b57a4; color: #fff; cursor: pointer; }
button:hover { background: #063a70; }
.count { font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { text-align: left; vertical-align: top; padding: .45em .6em; border-bottom: 1px solid #d0d7de; }
th { background: #f3f6f9; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3em 1.2em; margin: 0 0 1em; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.tag { display: inline-block; padding: 0 .45em; margin: 0 .25em .2em 0; border-radius: 3px; background: #e7eef6; color: #12355b; font-size: .85em; white-space: nowrap; }
.status-inactive, .status-off { background: #fbe9e7; color: #8a1c12; }
nav.pages ul { display: flex; flex-wrap: wrap; gap: 1em; list-style: none; padding: 0; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; overflow-wrap: anywhere; }
pre { background: #f3f6f9; padding: .75em; overflow-x: auto; }
.problem { padding: .75em 1em; border-left: 4px solid #b3261e; background: #fbe9e7; }
ol.hierarchy { padding-left: 1.2em; }
@media (max-width: 40em) {
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: .5em; }
  table.results thead { position: absolute; left: -999em; }
  table.results tr { display: block; border-bottom: 1px solid #d0d7de; padding: .4em 0; }
  table.results td { display: block; border: 0; padding: .1em 0; }
  table.results td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
}
`;
