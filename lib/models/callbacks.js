'use strict';
// tf.callbacks: earlyStopping (with a working restoreBestWeights), and the base class.

class Callback {
  setModel(model) { this.model = model; }
  setParams(params) { this.params = params; }
}

class EarlyStopping extends Callback {
  constructor(args = {}) {
    super();
    const known = ['monitor', 'minDelta', 'patience', 'verbose', 'mode', 'baseline', 'restoreBestWeights'];
    for (const k of Object.keys(args)) if (!known.includes(k)) throw new Error(`earlyStopping: unknown argument '${k}' (known: ${known.join(', ')})`);
    this.monitor = args.monitor || 'val_loss';
    this.minDelta = Math.abs(args.minDelta || 0);
    this.patience = args.patience || 0;
    this.verbose = args.verbose || 0;
    this.mode = args.mode || 'auto';
    this.baseline = args.baseline;
    this.restoreBestWeights = !!args.restoreBestWeights;
    if (!['auto', 'min', 'max'].includes(this.mode)) throw new Error(`earlyStopping: mode must be 'auto', 'min' or 'max', got '${this.mode}'`);
    if (!(this.patience >= 0)) throw new Error(`earlyStopping: patience must be >= 0, got ${args.patience}`);
    const max = this.mode === 'max' || (this.mode === 'auto' && /acc/.test(this.monitor));
    this.better = max ? (a, b) => a - this.minDelta > b : (a, b) => a + this.minDelta < b;
  }
  onTrainBegin() {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = this.baseline != null ? this.baseline : (this.better(0, 1) ? Infinity : -Infinity);
    this._disposeBest();
  }
  onEpochEnd(epoch, logs) {
    const v = logs[this.monitor];
    if (v == null) {
      console.warn(`earlyStopping: the monitored metric '${this.monitor}' is not in the logs (available: ${Object.keys(logs).join(', ')})`);
      return;
    }
    if (this.better(v, this.best)) {
      this.best = v;
      this.wait = 0;
      if (this.restoreBestWeights) {
        this._disposeBest();
        this.bestWeights = this.model.getWeights();
      }
    } else {
      this.wait++;
      if (this.wait > this.patience) {
        this.stoppedEpoch = epoch;
        this.model.stopTraining = true;
      }
    }
  }
  onTrainEnd() {
    if (this.restoreBestWeights && this.bestWeights) {
      this.model.setWeights(this.bestWeights);
      this._disposeBest();
    }
    if (this.stoppedEpoch > 0 && this.verbose > 0) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
  }
  _disposeBest() {
    if (this.bestWeights) for (const t of this.bestWeights) t.dispose();
    this.bestWeights = null;
  }
}

const callbacks = { earlyStopping: (args) => new EarlyStopping(args) };

module.exports = { Callback, EarlyStopping, callbacks };
