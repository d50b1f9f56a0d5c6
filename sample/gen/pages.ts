import iconv from 'iconv-lite';
import { BANKS, SPAM_WORDS, englishSentences, type LanguageBank } from './text-banks.ts';

/** A seeded PRNG (mulberry32): the sample must come out the same on every machine and Node version. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Fisher-Yates on a copy. */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export interface Page {
  readonly url: string;
  /** Value of the HTTP Content-Type header. */
  readonly contentType: string;
  readonly body: Buffer;
  readonly kind: 'article' | 'exact-duplicate' | 'near-duplicate' | 'spam' | 'short' | 'non-html';
  readonly lang: string | null;
  readonly charset: string | null;
}

interface Article {
  readonly bank: LanguageBank;
  readonly title: string;
  readonly paragraphs: readonly string[];
  readonly site: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A page's paragraphs, dealing its language's sentences without replacement (2-4 per paragraph). */
function paragraphs(rng: Rng, bank: LanguageBank): string[] {
  const deck = bank.code === 'en' ? englishSentences((xs) => rng.shuffle(xs)) : rng.shuffle(bank.sentences);
  const out: string[] = [];
  while (deck.length >= 2) out.push(deck.splice(0, Math.min(deck.length, 2 + rng.int(3))).join(' '));
  return out;
}

function renderHtml(rng: Rng, a: Article, charset: string, metaCharset: boolean, date: string): string {
  const nav = a.bank.nav.map((n, i) => `<li><a href="/${i === 0 ? '' : `section-${i}`}">${esc(n)}</a></li>`).join('');
  const body = a.paragraphs.map((p, i) => (i === 2 && rng.int(3) === 0 ? `<h2>${esc(p.split(' ').slice(0, 4).join(' '))}</h2>\n<p>${esc(p)}</p>` : `<p>${esc(p)}</p>`)).join('\n');
  const extra = rng.int(4) === 0 ? `\n<ul>${a.paragraphs.slice(0, 3).map((p) => `<li>${esc(p.split(/[.!?。]/)[0] ?? p)}</li>`).join('')}</ul>` : '';
  const related = Array.from({ length: 5 }, (_, i) => `<li><a href="/archive/${rng.int(9000) + 1000}">${esc(rng.pick(a.bank.titles))} ${i + 1}</a></li>`).join('');
  return `<!DOCTYPE html>
<html lang="${a.bank.code}">
<head>
${metaCharset ? `<meta charset="${charset}">\n` : ''}<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(a.title)} &ndash; ${esc(a.site)}</title>
<link rel="stylesheet" href="/static/site.css">
<style>body{font-family:Georgia,serif;max-width:42em;margin:auto} .menu li{display:inline;margin-right:1em} #cookie-banner{position:fixed;bottom:0}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());gtag('config','UA-000000-1');</script>
</head>
<body class="page article-page">
<div id="cookie-banner" class="cookie-consent"><p>${esc(a.bank.cookie)}</p><button>OK</button></div>
<header class="site-header"><a class="logo" href="/">${esc(a.site)}</a>
<nav class="menu"><ul>${nav}</ul></nav></header>
<main>
<article>
<h1>${esc(a.title)}</h1>
<p class="byline">${date.slice(0, 10)}</p>
${body}${extra}
</article>
<aside class="sidebar"><h3>${esc(a.bank.nav[1] ?? '')}</h3><ul>${related}</ul></aside>
</main>
<footer class="site-footer"><p>${esc(a.bank.footer)}</p></footer>
<script src="/static/app.js" async></script>
</body>
</html>
`;
}

function encodePage(html: string, charset: string): Buffer {
  return charset === 'utf-8' ? Buffer.from(html, 'utf8') : iconv.encode(html, charset);
}

/** Builds the pages of the sample crawl, in capture order. */
export class PageFactory {
  readonly #rng: Rng;
  readonly #articles: { page: Page; article: Article }[] = [];
  #n = 0;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  next(date: string): Page {
    const rng = this.#rng;
    this.#n++;
    const roll = rng.int(100);
    if (roll < 10 && this.#articles.length > 3) return this.#exactDuplicate();
    if (roll < 18 && this.#articles.length > 3) return this.#nearDuplicate(date);
    if (roll < 25) return this.#spam();
    if (roll < 31) return this.#short();
    if (roll < 41) return this.#nonHtml();
    return this.#article(date);
  }

  #site(bank: LanguageBank): string {
    return `${bank.code}-${['news', 'blog', 'journal', 'town', 'harbour'][this.#rng.int(5)]}.example`;
  }

  #article(date: string, given?: Article): Page {
    const rng = this.#rng;
    const bank = given?.bank ?? rng.pick(BANKS);
    const article: Article = given ?? {
      bank,
      title: rng.pick(bank.titles),
      paragraphs: paragraphs(rng, bank),
      site: this.#site(bank),
    };
    const charset = rng.pick(bank.charsets);
    const inHeader = rng.int(10) < 7;
    const html = renderHtml(rng, article, charset, !inHeader || rng.int(2) === 0, date);
    const page: Page = {
      url: `https://${article.site}/${date.slice(0, 7).replace('-', '/')}/story-${this.#n}.html`,
      contentType: inHeader ? `text/html; charset=${charset.toUpperCase()}` : 'text/html',
      body: encodePage(html, charset),
      kind: given ? 'near-duplicate' : 'article',
      lang: bank.code,
      charset,
    };
    if (!given) this.#articles.push({ page, article });
    return page;
  }

  #exactDuplicate(): Page {
    const { page } = this.#rng.pick(this.#articles);
    return { ...page, url: `${page.url.replace('https://', 'https://mirror.')}?utm_source=feed&n=${this.#n}`, kind: 'exact-duplicate' };
  }

  #nearDuplicate(date: string): Page {
    const rng = this.#rng;
    const { article } = rng.pick(this.#articles);
    // Near duplicate: the same page with its paragraphs in another order and one dropped.
    const reordered = rng.shuffle(article.paragraphs).slice(0, Math.max(2, article.paragraphs.length - 1));
    return this.#article(date, { ...article, paragraphs: reordered, site: `syndicated-${article.site}` });
  }

  #spam(): Page {
    const rng = this.#rng;
    const words = Array.from({ length: 150 + rng.int(200) }, () => rng.pick(SPAM_WORDS));
    const links = Array.from({ length: 40 }, (_, i) => `<a href="https://casino-${i}.example/">${rng.pick(SPAM_WORDS)} ${rng.pick(SPAM_WORDS)}</a>`).join(' | ');
    const html = `<html><head><title>BEST ${words.slice(0, 5).join(' ').toUpperCase()}</title></head><body><h1>${words.slice(0, 8).join(' ')}!!!</h1><p>${words.join(' ')}</p><div>${links}</div></body></html>`;
    return { url: `http://best-${rng.pick(SPAM_WORDS)}-${this.#n}.example/`, contentType: 'text/html', body: Buffer.from(html), kind: 'spam', lang: 'en', charset: 'utf-8' };
  }

  #short(): Page {
    const rng = this.#rng;
    const bank = rng.pick(BANKS);
    const msg = rng.pick(['Coming soon.', 'Under construction', '404 - page moved', 'Login required', bank.nav[0] ?? 'Home']);
    const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(msg)}</title></head><body><p>${esc(msg)}</p></body></html>`;
    return { url: `https://${this.#site(bank)}/placeholder-${this.#n}`, contentType: 'text/html; charset=utf-8', body: Buffer.from(html), kind: 'short', lang: null, charset: 'utf-8' };
  }

  #nonHtml(): Page {
    const rng = this.#rng;
    const host = `files-${rng.int(20)}.example`;
    switch (rng.int(5)) {
      case 0: {
        const pdf = `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n${rng.bytes(800).toString('latin1')}\ntrailer << /Root 1 0 R >>\n%%EOF\n`;
        return { url: `https://${host}/report-${this.#n}.pdf`, contentType: 'application/pdf', body: Buffer.from(pdf, 'latin1'), kind: 'non-html', lang: null, charset: null };
      }
      case 1:
        return { url: `https://${host}/img/photo-${this.#n}.png`, contentType: 'image/png', body: Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), rng.bytes(1200)]), kind: 'non-html', lang: null, charset: null };
      case 2:
        return { url: `https://${host}/api/items/${this.#n}`, contentType: 'application/json', body: Buffer.from(JSON.stringify({ id: this.#n, items: Array.from({ length: 20 }, (_, i) => ({ i, v: rng.int(1000) })) })), kind: 'non-html', lang: null, charset: null };
      case 3:
        return { url: `https://${host}/static/site-${this.#n}.css`, contentType: 'text/css', body: Buffer.from('body{margin:0;padding:0}\n'.repeat(30 + rng.int(30))), kind: 'non-html', lang: null, charset: null };
      default:
        return { url: `https://${host}/static/app-${this.#n}.js`, contentType: 'application/javascript', body: Buffer.from(`(function(){var x=${rng.int(1e6)};console.log(x)})();\n`.repeat(20)), kind: 'non-html', lang: null, charset: null };
    }
  }
}
