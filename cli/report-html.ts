import type { ReportData } from './report-data.ts';

/**
 * One self-contained HTML page: inline CSS and hand-made SVG charts, no script, no fetches, so it opens
 * offline and from a mail attachment. Numbers carry data-* attributes so tests (and scrapers) read them
 * without parsing prose.
 */
const esc = (s: string | number): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const int = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

/** Horizontal bars with labels; widths are proportional to the largest value. */
function bars(rows: readonly { label: string; value: number; note?: string; attrs?: string }[], unit = ''): string {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const h = 22;
  const labelW = 230;
  const barW = 460;
  const body = rows
    .map((r, i) => {
      const w = Math.max(1, Math.round((r.value / max) * barW));
      const y = i * h;
      return `<g ${r.attrs ?? ''}><text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w}" height="${h - 6}" rx="3"></rect><text x="${labelW + w + 6}" y="${y + 15}">${esc(int(r.value))}${unit}${r.note ? ` ${esc(r.note)}` : ''}</text></g>`;
    })
    .join('');
  return `<svg class="bars" viewBox="0 0 ${labelW + barW + 190} ${rows.length * h + 4}" role="img">${body}</svg>`;
}

/** The pipeline as boxes and arrows, top to bottom: source, the per-segment chain, whole-run steps, outputs. */
function dag(d: ReportData): string {
  const boxW = 210;
  const boxH = 28;
  const step = boxH + 16;
  const outs = d.aggregates.map((a) => `${a.stage} → ${a.output}`);
  const spine = ['path list (source)', ...d.chain, ...d.global.map((s) => `${s} (whole run)`)];
  const width = Math.max(boxW + 280, outs.length * (boxW + 20) + 20);
  const cx = (width - boxW) / 2;
  const parts: string[] = [];
  const box = (x: number, y: number, label: string) =>
    parts.push(`<rect class="node" x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="6"></rect><text x="${x + boxW / 2}" y="${y + 18}" text-anchor="middle">${esc(label)}</text>`);
  spine.forEach((label, i) => {
    const y = 10 + i * step;
    box(cx, y, label);
    if (i > 0) parts.push(`<line x1="${cx + boxW / 2}" y1="${y - 16}" x2="${cx + boxW / 2}" y2="${y - 2}" marker-end="url(#arrow)"></line>`);
  });
  // The fused per-segment part: fetch through the last transform.
  const top = 10 + step - 6;
  const bottom = 10 + d.chain.length * step + boxH + 6;
  parts.push(`<rect class="segment" x="${cx - 10}" y="${top}" width="${boxW + 20}" height="${bottom - top}" rx="8"></rect><text class="small" x="${cx + boxW + 18}" y="${top + 16}">once per segment (${d.segments.length}),</text><text class="small" x="${cx + boxW + 18}" y="${top + 31}">fused and streamed</text>`);
  const lastY = 10 + (spine.length - 1) * step + boxH;
  const outY = lastY + 36;
  const outX0 = (width - (outs.length * (boxW + 20) - 20)) / 2;
  outs.forEach((label, i) => {
    const x = outX0 + i * (boxW + 20);
    box(x, outY, label);
    parts.push(`<line x1="${cx + boxW / 2}" y1="${lastY}" x2="${x + boxW / 2}" y2="${outY - 2}" marker-end="url(#arrow)"></line>`);
  });
  return `<svg class="dag" viewBox="0 0 ${width} ${outY + boxH + 10}" style="max-width:${width}px" role="img"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"></path></marker></defs>${parts.join('')}</svg>`;
}

function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export function renderReport(d: ReportData): string {
  const funnelRows = d.funnel.map((r) => ({
    label: r.stage,
    value: r.records,
    note: r.drops.length ? `(−${int(r.drops.reduce((n, x) => n + x.n, 0))})` : '',
    attrs: `data-funnel-stage="${esc(r.stage)}" data-records="${r.records}"`,
  }));
  const dropRows = d.funnel.flatMap((r) => r.drops.map((x) => [r.stage, x.reason, int(x.n)] as const));
  const tokenLine = d.tokens
    ? `<p id="tokens" data-tokens="${d.tokens.tokens}" data-documents="${d.tokens.documents}">Then tokenised: <b>${esc(int(d.tokens.tokens))} tokens</b> in ${esc(int(d.tokens.documents))} documents (output <code>${esc(d.tokens.output)}/</code>).</p>`
    : '';
  const totalMs = d.stages.reduce((n, s) => n + s.ms, 0);
  const css = `
    body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;padding:0 16px}
    h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
    code,.digest{font-family:ui-monospace,monospace;font-size:12.5px;word-break:break-all}
    table{border-collapse:collapse;margin:8px 0;font-size:13px} td,th{border:1px solid #dde2ea;padding:3px 8px;text-align:left} th{background:#f3f5f9}
    svg text{font-size:12px;fill:#1d2330} svg.bars rect{fill:#4c78a8} svg.dag rect.node{fill:#eef3fb;stroke:#4c78a8}
    svg.dag rect.segment{fill:none;stroke:#b9c4d6;stroke-dasharray:4 3} svg.dag line{stroke:#7d8aa3} svg.dag path{fill:#7d8aa3}
    svg .small{font-size:11px;fill:#5b6477} .muted{color:#5b6477} svg{max-width:100%;height:auto}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>reingest report: ${esc(d.name)}</title><style>${css}</style></head>
<body>
<h1>Run report: ${esc(d.name)}</h1>
${d.facts ? `<p class="muted">${esc(d.tool)} · Node ${esc(d.facts.node)} · ${esc(d.facts.platform)} · started ${esc(d.facts.startedAt)} · wall ${esc((d.facts.wallMs / 1000).toFixed(1))} s · concurrency ${esc(d.facts.concurrency)} · ${esc(d.facts.tasksRun)} tasks run, ${esc(d.facts.tasksCached)} from cache</p>` : `<p class="muted">no run record in this cache: timings are known only where the data was computed</p>`}
<p>Root digest: <code id="root" data-root="${esc(d.root)}">${esc(d.root)}</code></p>

<h2>Pipeline</h2>
${dag(d)}

<h2>Document funnel</h2>
<p class="muted">Records leaving each stage, summed over all ${esc(d.segments.length)} segments; drops by reason.</p>
<div id="funnel">${bars(funnelRows)}</div>
${tokenLine}
<details><summary>Drops by reason (${esc(dropRows.length)})</summary>${table(['stage', 'reason', 'documents'], dropRows)}</details>

<h2>Languages</h2>
<p class="muted">Documents per detected language (before the language filter).</p>
<div id="languages">${d.languages.length ? bars(d.languages.map((l) => ({ label: l.lang, value: l.n, attrs: `data-lang="${esc(l.lang)}" data-n="${l.n}"` }))) : '<p>No language stage in this pipeline.</p>'}</div>

<h2>Tokens per shard</h2>
<div id="shards">${d.shards.length ? bars(d.shards.map((s) => ({ label: s.file, value: s.tokens, note: `(${int(s.documents)} docs)`, attrs: `data-shard="${esc(s.file)}" data-tokens="${s.tokens}"` }))) : '<p>No token shards in this pipeline.</p>'}</div>

<h2>Time per stage</h2>
<p class="muted">Wall time of the tasks that ran in this run (cache hits take none), summed over segments; a chain stage's time includes hashing its input edge. Run facts: not hashed, not compared.</p>
<div id="stages">${
    d.stages.length
      ? bars(d.stages.map((s) => ({ label: s.stage, value: s.ms, note: `ms (${totalMs ? Math.round((s.ms / totalMs) * 100) : 0}%)${s.records !== null && s.ms > 0 ? `, ${int(Math.round((s.records / s.ms) * 1000))} records/s out` : ''}${s.bytes !== null && s.ms > 0 ? `, ${(s.bytes / 1e3 / s.ms).toFixed(1)} MB/s` : ''}`, attrs: `data-stage="${esc(s.stage)}" data-ms="${s.ms}"` })))
      : '<p>No timings: no run recorded in this cache computed this data.</p>'
  }</div>

<h2>Pinned inputs</h2>
<p>Listing <code>${esc(d.listing.path)}</code>, ${esc(int(d.listing.size))} bytes, <span class="digest">${esc(d.listing.sha256)}</span></p>
${table(['#', 'segment', 'size', 'sha256'], d.segments.map((s) => [s.index, s.path, mb(s.size), s.sha256]))}

<h2>Outputs</h2>
${table(['file', 'size', 'sha256'], d.outputs.map((o) => [o.file, `${int(o.size)} bytes${o.compression ? ` (${o.compression}; digest of the uncompressed content)` : ''}`, o.digest]))}
<p class="muted">Check them with <code>reingest shards check DIR --manifest manifest.json</code>; rebuild and compare with <code>reingest verify manifest.json</code>.</p>
</body></html>
`;
}
