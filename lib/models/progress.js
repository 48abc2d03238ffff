'use strict';
// verbose: 1 progress output in tfjs-node's style: on a TTY a live per-epoch bar with eta and
// the running metrics; otherwise one summary line per epoch.

function fmt(v) {
  if (typeof v !== 'number') return String(v);
  return v.toPrecision(4).replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
}

function metricsText(logs) {
  return Object.entries(logs || {})
    .filter(([k]) => k !== 'batch' && k !== 'size')
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ');
}

class ProgressLogger {
  constructor(verbose, stream = process.stdout) {
    this.verbose = verbose;
    this.stream = stream;
    this.tty = !!stream.isTTY;
    this.params = null;
  }
  onTrainBegin() {}
  onEpochBegin(epoch) {
    this.epoch = epoch;
    this.start = Date.now();
    this.lastDraw = 0;
    this.steps = 0;
    if (this.params) this.stream.write(`Epoch ${epoch + 1} / ${this.params.epochs}\n`);
  }
  // Throttled batch progress, pushed by the worker without waiting.
  onProgress(step, logs) {
    this.steps = step + 1;
    if (!this.tty || !this.params) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const total = this._total();
    // A dataset of unknown length: a count instead of a bar.
    if (total == null) {
      this.stream.write(`\rbatch ${step + 1} ${metricsText(logs)}   `);
      return;
    }
    const done = Math.min(step + 1, total);
    const width = 30;
    const filled = Math.round((width * done) / Math.max(total, 1));
    const elapsed = (now - this.start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : 0;
    const bar = '='.repeat(Math.max(filled - 1, 0)) + (filled > 0 ? '>' : '') + '.'.repeat(width - filled);
    this.stream.write(`\reta=${eta.toFixed(1)} ${bar} ${metricsText(logs)}   `);
  }
  onEpochEnd(epoch, logs) {
    const ms = Date.now() - this.start;
    const total = (this.params && this._total()) || this.steps || 1;
    const us = Math.round((ms * 1000) / Math.max(total, 1));
    if (this.tty) this.stream.write('\r\x1b[K');
    this.stream.write(`${ms}ms ${us}us/step - ${metricsText(logs)}\n`);
  }
  onTrainEnd() {}
  // Batches per epoch, or null when unknown (a dataset of unknown size).
  _total() {
    const p = this.params;
    if (p.steps) return p.steps;
    return p.samples && p.batchSize ? Math.ceil(p.samples / p.batchSize) : null;
  }
}

module.exports = { ProgressLogger };
