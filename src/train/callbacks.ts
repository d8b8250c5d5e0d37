/**
 * The seed's callbacks, as Keras runs them:
 * - LearningRateScheduler: at the start of every epoch (counted from 0) the rate is set to
 *   lr_schedule(epoch), a piecewise-constant function with strictly-greater comparisons;
 * - ReduceLROnPlateau: at the end of an epoch, multiply the rate by `factor` once the monitored
 *   value has not improved for `patience` epochs (then wait `cooldown` epochs), never below min_lr;
 * - ModelCheckpoint(save_best_only): an epoch is saved when its monitored value beats the best so far.
 * With both a schedule and ReduceLROnPlateau (the seed's ResNet recipe), Keras' order applies:
 * the schedule sets the rate at the start of each epoch, so a reduction lasts until the next epoch.
 * A non-finite loss stops training (Keras TerminateOnNaN).
 */
import type { Monitor, PiecewiseSchedule, PlateauConfig } from './config.js';

export type EpochLogs = { [m in Monitor]?: number | undefined } & { lr?: number };

/** lr(epoch) = base * factors[i] for the largest i with epoch > boundaries[i]; base before any. */
export function piecewiseLr(s: PiecewiseSchedule, epoch: number): number {
  let lr = s.base;
  for (let i = 0; i < s.boundaries.length; i++) if (epoch > s.boundaries[i]!) lr = s.base * s.factors[i]!;
  return lr;
}

/** Whether larger is better for a monitored value (Keras mode 'auto': accuracies and AUC up, as their metrics' direction; losses and errors down). */
export const maximises = (m: Monitor) => m.endsWith('accuracy') || m.endsWith('auc');

export interface PlateauState {
  best: number;
  wait: number;
  cooldownCounter: number;
}

export class ReduceLROnPlateau {
  state: PlateauState;
  constructor(readonly cfg: PlateauConfig, state?: PlateauState) {
    this.state = state ? { ...state } : { best: maximises(cfg.monitor) ? -Infinity : Infinity, wait: 0, cooldownCounter: 0 };
  }

  private better(current: number, best: number): boolean {
    return maximises(this.cfg.monitor) ? current > best + this.cfg.min_delta : current < best - this.cfg.min_delta;
  }

  /** Called at the end of an epoch with its logs and the current rate; returns the new rate (maybe unchanged). */
  onEpochEnd(logs: EpochLogs, lr: number): number {
    const current = logs[this.cfg.monitor];
    if (current === undefined || Number.isNaN(current)) return lr;
    const s = this.state;
    const inCooldown = () => s.cooldownCounter > 0;
    if (inCooldown()) {
      s.cooldownCounter--;
      s.wait = 0;
    }
    if (this.better(current, s.best)) {
      s.best = current;
      s.wait = 0;
    } else if (!inCooldown()) {
      s.wait++;
      if (s.wait >= this.cfg.patience) {
        // Keras compares in float32: a rate already at min_lr (as float32) is left alone.
        if (Math.fround(lr) > Math.fround(this.cfg.min_lr)) {
          lr = Math.max(lr * this.cfg.factor, this.cfg.min_lr);
          s.cooldownCounter = this.cfg.cooldown;
          s.wait = 0;
        }
      }
    }
    return lr;
  }
}

/** ModelCheckpoint's decision: does this epoch beat the best so far (strictly)? */
export class BestTracker {
  best: number;
  constructor(readonly monitor: Monitor, best?: number) {
    this.best = best ?? (maximises(monitor) ? -Infinity : Infinity);
  }

  /** Records the value and says whether it improved; a missing or NaN value never does. */
  update(logs: EpochLogs): boolean {
    const v = logs[this.monitor];
    if (v === undefined || Number.isNaN(v)) return false;
    const improved = maximises(this.monitor) ? v > this.best : v < this.best;
    if (improved) this.best = v;
    return improved;
  }
}

export class NonFiniteLoss extends Error {
  constructor(readonly loss: number, readonly epoch: number, readonly batch: number) {
    super(`the loss became ${loss} at epoch ${epoch}, batch ${batch}: training stopped (lower the learning rate, or check the data for NaN or infinite values)`);
  }
}

/** Throws NonFiniteLoss for NaN or infinite losses. Epoch and batch are 1-based, for the message. */
export function checkFinite(loss: number, epoch: number, batch: number): void {
  if (!Number.isFinite(loss)) throw new NonFiniteLoss(loss, epoch, batch);
}
