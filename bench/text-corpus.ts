import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Real text for tokenizer benchmarks, gathered from this machine (no downloads, nothing committed):
 * English from Debian's package docs (/usr/share/doc: copyright files, READMEs, changelogs) and
 * many-script text from the translations in every /usr/share/locale catalogue (.mo msgstr strings: Arabic,
 * CJK, Cyrillic, Indic, Thai...). Files are taken in byte order of their paths, so two runs on one machine
 * read the same text; other machines get similar text, not the same.
 */
export interface CorpusDoc {
  readonly source: string;
  readonly text: string;
}

export function buildTextCorpus(targetBytes: number): { docs: CorpusDoc[]; bytes: number; english: number; multilingual: number } {
  const docs: CorpusDoc[] = [];
  let english = 0;
  let multilingual = 0;
  const half = targetBytes / 2;
  for (const file of walk('/usr/share/locale', (p) => p.endsWith('.mo'))) {
    if (multilingual >= half) break;
    const text = moStrings(file);
    if (text.length < 200) continue;
    docs.push({ source: file, text });
    multilingual += Buffer.byteLength(text);
  }
  for (const file of walk('/usr/share/doc', (p) => /(copyright|README[^/]*|changelog[^/]*|NEWS[^/]*)$/i.test(p))) {
    if (english + multilingual >= targetBytes) break;
    const text = readText(file);
    if (text === null || text.length < 200) continue;
    docs.push({ source: file, text });
    english += Buffer.byteLength(text);
  }
  return { docs, bytes: english + multilingual, english, multilingual };
}

function* walk(dir: string, keep: (p: string) => boolean): Generator<string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  names.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* walk(p, keep);
    else if (st.isFile() && keep(p)) yield p;
  }
}

function readText(file: string): string | null {
  try {
    let bytes = readFileSync(file);
    if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
    const text = bytes.toString('utf8');
    return text.includes('\ufffd') || text.includes('\0') ? null : text;
  } catch {
    return null;
  }
}

/** The translated strings of a GNU .mo catalogue, one per line (msgid 0, the header, is skipped). */
function moStrings(file: string): string {
  const b = readFileSync(file);
  if (b.length < 28) return '';
  const magic = b.readUInt32LE(0);
  const le = magic === 0x950412de;
  if (!le && b.readUInt32BE(0) !== 0x950412de) return '';
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const n = u32(8);
  const trans = u32(16);
  const out: string[] = [];
  for (let i = 1; i < n; i++) {
    const len = u32(trans + i * 8);
    const off = u32(trans + i * 8 + 4);
    if (off + len > b.length) break;
    out.push(b.toString('utf8', off, off + len).replaceAll('\0', '\n'));
  }
  return out.join('\n');
}
