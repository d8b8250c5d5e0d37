/**
 * The per-epoch progress bar (cli-progress) with the ETA and the running metrics, on stderr.
 * On a terminal it redraws in place; otherwise (a log file, a pipe) it prints a line every
 * few seconds, so long runs show progress there too.
 */
import { createRequire } from 'node:module';

// Loaded at run time rather than bundled into the CLI, which the static commands start from.
const load = createRequire(import.meta.url);
let cliProgress: typeof import('cli-progress') | undefined;

export interface Payload {
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  /** Seconds left in this epoch. */
  eta: number;
  /** Array datasets: the running values by Keras name (loss, out1_loss, out1_accuracy...), shown instead of loss and accuracy. */
  values?: Record<string, number>;
}

export interface EpochBar {
  update(done: number, p: Payload): void;
  stop(): void;
}

export type ProgressMode = 'auto' | 'none';

export const formatDuration = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
};

export function epochBar(mode: ProgressMode, label: string, total: number, start: number, stream: NodeJS.WriteStream = process.stderr): EpochBar {
  if (mode === 'none') return { update() {}, stop() {} };
  cliProgress ??= load('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${label} [{bar}] {value}/{total} batches | ETA {eta_s} | {metrics_s} | {ips_s} img/s`,
    barCompleteChar: '=',
    barIncompleteChar: '.',
    barsize: 24,
    hideCursor: false,
    clearOnComplete: false,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
    fps: 5,
  });
  const fields = (p?: Payload) => ({
    eta_s: p ? formatDuration(p.eta) : '?',
    metrics_s: p?.values
      ? Object.entries(p.values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ')
      : `loss ${p ? p.loss.toFixed(4) : '-'} accuracy ${p ? p.accuracy.toFixed(4) : '-'}`,
    ips_s: p ? p.imagesPerSecond.toFixed(0) : '-',
  });
  bar.start(total, start, fields());
  return {
    update(done, p) {
      bar.update(done, fields(p));
    },
    stop() {
      bar.stop();
    },
  };
}
