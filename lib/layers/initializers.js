'use strict';
// tf.initializers.*: objects that draw weight values natively, serializable as tfjs does.

const native = require('../native');
const { wrap } = require('../tensor');

class Initializer {
  constructor(className, config = {}) {
    this.className = className;
    this.config = config;
  }
  getClassName() { return this.className; }
  getConfig() { return { ...this.config }; }
  apply(shape, dtype = 'float32') {
    const t = wrap(native.initialize({ className: this.className, config: this.config }, shape));
    return dtype === 'float32' ? t : t.cast(dtype);
  }
}

const CLASSES = {
  zeros: 'Zeros', ones: 'Ones', constant: 'Constant', randomNormal: 'RandomNormal', randomUniform: 'RandomUniform',
  truncatedNormal: 'TruncatedNormal', varianceScaling: 'VarianceScaling', glorotNormal: 'GlorotNormal',
  glorotUniform: 'GlorotUniform', heNormal: 'HeNormal', heUniform: 'HeUniform', leCunNormal: 'LeCunNormal',
  leCunUniform: 'LeCunUniform', orthogonal: 'Orthogonal', identity: 'Identity',
};

const initializers = {};
for (const [fn, cls] of Object.entries(CLASSES)) {
  initializers[fn] = (config = {}) => new Initializer(cls, config || {});
}

/** An Initializer from an identifier, a {className, config} object or an Initializer. */
function getInitializer(spec) {
  if (spec instanceof Initializer) return spec;
  if (typeof spec === 'string') {
    const cls = CLASSES[spec] || Object.values(CLASSES).find((c) => c === spec);
    if (!cls) throw new Error(`unknown initializer '${spec}' (expected one of ${Object.keys(CLASSES).join(', ')})`);
    return new Initializer(cls, {});
  }
  if (spec && typeof spec === 'object' && typeof spec.className === 'string') return new Initializer(spec.className, spec.config || {});
  throw new Error(`an initializer must be a name, {className, config} or a tf.initializers object, got ${JSON.stringify(spec)}`);
}

/** The JSON form native layer configs take. */
function serialize(spec) {
  if (spec instanceof Initializer) return { className: spec.className, config: spec.config };
  return spec;
}

module.exports = { Initializer, initializers, getInitializer, serialize };
