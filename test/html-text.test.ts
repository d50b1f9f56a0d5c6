import t from 'tap';
import { CounterSet } from '../runner/counters.ts';
import type { DataRecord } from '../runner/stage.ts';
import { extractText } from '../stages/html/extract.ts';
import { htmlText, pickCharset } from '../stages/html-text.ts';
import { collect, stageCtx } from './helpers.ts';

const LIMITS = { maxChars: 1 << 20, maxDepth: 256 };

t.test('boilerplate goes, content stays, blocks become lines', async (t) => {
  const html = `<!doctype html><html><head><title>T &amp; co</title><style>p{}</style><script>var x = "<p>no</p>";</script></head>
  <body class="has-header"><div id="cookie-banner">We use cookies</div><header>Site</header><nav><a>Home</a></nav>
  <main><h1>Heading</h1><p>First   para&nbsp;with <b>bold</b> &#8212; and &#x1F600;.</p><!-- <p>comment</p> -->
  <ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>
  <div class="sidebar"><p>related links</p></div><p>Last<br>line</p></main><footer>© footer</footer></body></html>`;
  const { title, text } = extractText(html, LIMITS);
  t.equal(title, 'T & co');
  t.equal(text, 'Heading\nFirst para with bold — and 😀.\none\ntwo\na b\nLast\nline');
});

t.test('unclosed and mis-nested tags do not swallow the page', async (t) => {
  const { text } = extractText('<div><p>one<div class="menu"><a>x</a></div><p>two</span></p></div><p>three', LIMITS);
  t.equal(text, 'one\ntwo\nthree');
});

t.test('link-dense blocks are dropped as navigation, prose with a link is kept', async (t) => {
  const html = '<div><a href="/1">Home</a> | <a href="/2">News</a> | <a href="/3">Archive</a></div><p>Read the <a href="/r">full report</a> on the flood of the lower streets this spring.</p>';
  t.equal(extractText(html, LIMITS).text, 'Read the full report on the flood of the lower streets this spring.');
  t.equal(extractText(html, { ...LIMITS, maxLinkDensityPermille: 1000 }).text.split('\n').length, 2, 'the limit is a param');
});

t.test('limits are sizes, not time: the cut is the same on every machine', async (t) => {
  const html = `<p>${'word '.repeat(1000)}</p><p>tail</p>`;
  const a = extractText(html, { maxChars: 100, maxDepth: 10 });
  t.equal(a.text, extractText(html, { maxChars: 100, maxDepth: 10 }).text);
  t.notMatch(a.text, /tail/);
});

t.test('charset: HTTP header, then <meta>, then UTF-8', async (t) => {
  t.equal(pickCharset('text/html; charset=Shift_JIS', Buffer.from('<meta charset="utf-8">')), 'shift_jis');
  t.equal(pickCharset('text/html', Buffer.from('<html><meta charset="windows-1251">')), 'windows-1251');
  t.equal(pickCharset('text/html', Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">')), 'koi8-r');
  t.equal(pickCharset(undefined, Buffer.from('<p>none</p>')), 'utf-8');
  t.equal(pickCharset('text/html; charset=nonsense-9', Buffer.from('<p>é</p>')), 'utf-8', 'an unknown label falls through to detection');
  const { default: iconv } = await import('iconv-lite');
  const ru = iconv.encode('<p>Весной река снова вышла из берегов и затопила нижние улицы города. Городская библиотека продлила часы работы.</p>', 'windows-1251');
  t.equal(pickCharset('text/html', ru), 'windows-1251', 'undeclared windows-1251 is detected');
  const ja = iconv.encode('<p>春になると、川沿いの桜並木が一斉に咲き始めます。町の図書館は夏休みの間、開館時間を延長します。</p>', 'shift_jis');
  t.equal(pickCharset(undefined, ja), 'shift_jis', 'undeclared Shift_JIS is detected');
});

t.test('the stage keeps HTML 200 responses and counts every drop by reason', async (t) => {
  const http = (status: string, type: string, body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\n\r\n`), body]);
  const recs: DataRecord[] = [
    { type: 'warcinfo', block: Buffer.alloc(0) },
    { type: 'request', block: Buffer.alloc(0) },
    { type: 'response', id: 'a', uri: 'https://a.example/', date: null, block: http('200 OK', 'text/html; charset=windows-1251', Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2])) },
    { type: 'response', id: 'b', uri: 'https://b.example/', date: null, block: http('404 Not Found', 'text/html', Buffer.from('<p>gone</p>')) },
    { type: 'response', id: 'c', uri: 'https://c.example/x.pdf', date: null, block: http('200 OK', 'application/pdf', Buffer.from('%PDF')) },
    { type: 'response', id: 'd', uri: 'https://d.example/', date: null, block: http('200 OK', 'text/html', Buffer.from('<script>only()</script>')) },
    { type: 'response', id: 'e', uri: 'https://e.example/', date: null, block: Buffer.from('not http at all') },
  ];
  const counters = new CounterSet();
  async function* src() {
    yield* recs;
  }
  const out = await collect(htmlText.run(src(), stageCtx(htmlText.parseParams({}, 'p'), { counters })));
  t.same(out.map((r) => [r.id, r.text, r.charset]), [['a', 'Привет', 'windows-1251']]);
  t.same(counters.toJSON().drops, { 'http-not-200': 1, 'http-unparsable': 1, 'no-text': 1, 'not-html': 1, 'warc-request': 1, 'warc-warcinfo': 1 });
});

t.test('bodies: CC\'s are already decoded; other archives\' chunked and gzip/deflate/br bodies are decoded', async (t) => {
  const { gzipSync, deflateSync, brotliCompressSync } = await import('node:zlib');
  const html = Buffer.from('<p>Decoded body text</p>');
  const resp = (headers: string[], body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`), body]);
  const chunkedBody = Buffer.concat([Buffer.from(`${html.length.toString(16)}\r\n`), html, Buffer.from('\r\n0\r\n\r\n')]);
  const cases: [string, Buffer][] = [
    ['cc', resp(['X-Crawler-Content-Encoding: gzip', 'X-Crawler-Transfer-Encoding: chunked'], html)],
    ['gzip', resp(['Content-Encoding: gzip'], gzipSync(html))],
    ['deflate', resp(['Content-Encoding: deflate'], deflateSync(html))],
    ['br', resp(['Content-Encoding: br'], brotliCompressSync(html))],
    ['chunked', resp(['Transfer-Encoding: chunked'], chunkedBody)],
    ['chunked+gzip', resp(['Transfer-Encoding: chunked', 'Content-Encoding: gzip'], Buffer.concat([Buffer.from(`${gzipSync(html).length.toString(16)}\r\n`), gzipSync(html), Buffer.from('\r\n0\r\n\r\n')]))],
  ];
  async function* src() {
    for (const [id, block] of cases) yield { type: 'response', id, uri: `https://${id}.example/`, date: null, block } as DataRecord;
    yield { type: 'conversion', id: 'wet', uri: 'https://wet.example/', date: null, block: Buffer.from('Title line\nText from a WET record\n') } as DataRecord;
    yield { type: 'response', id: 'huge', uri: 'https://huge.example/', date: null, block: null } as DataRecord;
  }
  const counters = new CounterSet();
  const out = await collect(htmlText.run(src(), stageCtx(htmlText.parseParams({}, 'p'), { counters })));
  t.same(
    out.map((r) => [r.id, r.text]),
    [...cases.map(([id]) => [id, 'Decoded body text']), ['wet', 'Title line\nText from a WET record']],
  );
  t.same(counters.toJSON().drops, { oversize: 1 });
});

t.test('malformed HTML: the scanner never throws and keeps what a browser would show', async (t) => {
  const text = (html: string) => extractText(html, LIMITS).text;
  t.equal(text('<p>one<p>two<div>three</div><ul><li>a<li>b</ul>'), 'one\ntwo\nthree\na\nb', '<p> and <li> close implicitly');
  t.equal(text('<div><p>unclosed <b>bold'), 'unclosed bold', 'unclosed elements close at the end');
  t.equal(text('<p>1 < 2 and 3 <4</p><p>x</p>'), '1 < 2 and 3 <4\nx', 'a stray < is text');
  t.equal(text('</foo></p>lead<p>in</span>side</p>'), 'lead\ninside', 'end tags with nothing open change nothing but the line');
  t.equal(text('<div class="x>y" title=\'a>b\' data-z=c>kept</div><div class="menu">menu</div>'), 'kept', '> inside quoted values does not end the tag');
  t.equal(text('<p class=sidebar>gone</p><p class=main-text>kept</p>'), 'kept', 'unquoted attribute values');
  t.equal(text('<p class="share">Share this<p class="social">Tweet<p>kept'), 'kept', 'a tag that implicitly closes boilerplate is itself judged by its class');
  t.equal(text('<p>before</p><div class="cut'), 'before', 'EOF inside a tag drops the tag');
  t.equal(text('<p>before</p><!-- never closed <p>hidden</p>'), 'before', 'EOF inside a comment');
  t.equal(text('<p>a<!-->b<!--->c<!-- x -- y --!>d<!--- z --->e</p>'), 'abcde', 'comment ends as in HTML5');
  t.equal(text('<!DOCTYPE html><?xml version="1.0"?><![CDATA[<p>no</p>]]><p>yes</p><! bogus >'), 'yes', 'doctype, processing instruction, CDATA, bogus comment');
  t.equal(text('<SCRIPT>if (a</b) document.write("<p>no</p>")</ScRiPt ><p>yes</p>'), 'yes', 'script content is raw text up to its own end tag, any case');
  t.equal(text('<style>p{}</stylex></style><xmp><b>&amp;</b></xmp>'), '<b>&amp;</b>', 'style skips; xmp shows its markup as text, undecoded');
  t.equal(text('<textarea><p>no</p></textarea><p>yes</p></textarea>'), 'yes', 'textarea content is not markup');
  t.equal(text('<nav><noscript><a href=/>Home</a></nav></noscript>More links</nav><p>yes</p>'), 'yes', 'noscript is raw text: its markup cannot close the navigation around it');
  t.equal(text('<p>a</p><script>var s = "</p><p>'), 'a', 'EOF inside a script');
  t.equal(text('<p>Fish &amp chips &notin; &notit; &#x41;&#66;&#0; &bogus;</p>'), 'Fish & chips ∉ ¬it; AB\ufffd &bogus;', 'character references decode as HTML5 does in text');
  t.equal(extractText('<title>A &lt; B</title><svg><title>icon</title></svg><p>x</p>', LIMITS).title, 'A < B', 'title decodes; a later svg title is not the title');
  t.equal(text('<svg><style>.a{}</style><p/>x</svg><p>after</p>'), 'after', 'svg content is skipped, style inside it is not raw text');
  t.equal(text('<br/>a<br>b</br>c<hr>d<img src=x>e<input>f'), 'a\nb\nc\ndef', 'void elements are never open');
  t.equal(text('<table><tr><td>a<td>b<tr><td>c</table>'), 'a b\nc', 'cells close cells, rows close rows');
  t.equal(text('<'), '<');
  t.equal(text('<a'), '');
  t.equal(text('</'), '</');
  t.equal(text('&'), '&');
  t.equal(text(''), '');
});

t.test('deep nesting past maxDepth is flattened, not a crash or a quadratic scan', async (t) => {
  const deep = `${'<div>'.repeat(5000)}<p>deep text</p>${'</div>'.repeat(5000)}<p>after</p>`;
  t.equal(extractText(deep, { maxChars: 1 << 20, maxDepth: 64 }).text, 'deep text\nafter');
  const unclosed = `${'<span>'.repeat(200000)}end`;
  t.equal(extractText(unclosed, { maxChars: 1 << 22, maxDepth: 512 }).text, 'end');
});
