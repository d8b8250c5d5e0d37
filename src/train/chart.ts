/** A small SVG writer: the loss and accuracy curves of a run, training and validation, per epoch. */
import type { EpochRecord } from './checkpoint.js';

interface Series {
  name: string;
  color: string;
  dash?: string;
  points: [number, number][];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function panel(x0: number, y0: number, w: number, h: number, title: string, series: Series[], epochs: number): string {
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.05;
  lo -= pad; hi += pad;
  const xMax = Math.max(epochs, 2);
  const X = (e: number) => x0 + ((e - 1) / (xMax - 1)) * w;
  const Y = (v: number) => y0 + h - ((v - lo) / (hi - lo)) * h;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + w / 2}" y="${y0 - 12}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  const yTicks = ticks(lo, hi);
  const step = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  const num = (v: number) => v.toFixed(decimals);
  for (const t of yTicks) {
    parts.push(`<line x1="${x0}" x2="${x0 + w}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${num(t)}</text>`);
  }
  for (const t of ticks(1, xMax).filter((t) => Number.isInteger(t) && t >= 1)) {
    parts.push(`<text x="${X(t).toFixed(1)}" y="${y0 + h + 16}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle" font-size="12">epoch</text>`);
  series.forEach((s) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 1) parts.push(`<circle cx="${X(pts[0]![0]).toFixed(1)}" cy="${Y(pts[0]![1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    else if (pts.length) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`);
  });
  // The legend, over the curves.
  parts.push(`<rect x="${x0 + w - 126}" y="${y0 + 4}" width="120" height="${series.length * 16 + 4}" fill="white" fill-opacity="0.85" stroke="#ddd"/>`);
  series.forEach((s, i) => {
    const ly = y0 + 18 + i * 16;
    parts.push(`<line x1="${x0 + w - 120}" x2="${x0 + w - 96}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    parts.push(`<text x="${x0 + w - 90}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** The chart as an SVG document: the loss, and `metric` (accuracy; an array run's first metric, as `mae` or `out1_accuracy`). */
export function curvesSvg(history: readonly EpochRecord[], title: string, metric = 'accuracy'): string {
  const W = 920, H = 380, pw = 360, ph = 260;
  const epochs = history.length ? history[history.length - 1]!.epoch : 1;
  const pick = (k: string) => history.filter((r) => r[k] !== undefined).map((r) => [r.epoch, r[k] as number] as [number, number]);
  const loss: Series[] = [{ name: 'training', color: '#1f77b4', points: pick('loss') }];
  const acc: Series[] = [{ name: 'training', color: '#1f77b4', points: pick(metric) }];
  if (history.some((r) => r.val_loss !== undefined)) {
    loss.push({ name: 'validation', color: '#d62728', dash: '6 3', points: pick('val_loss') });
    acc.push({ name: 'validation', color: '#d62728', dash: '6 3', points: pick(`val_${metric}`) });
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    panel(70, 60, pw, ph, 'loss', loss, epochs),
    panel(530, 60, pw, ph, metric, acc, epochs),
    '</svg>',
    '',
  ].join('\n');
}
