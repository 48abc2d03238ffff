'use strict';
// tf.layers: one factory per built-in layer class (generated from the native class table,
// named as tfjs names them: Dense → dense, Conv2D → conv2d, LSTM → lstm, …), plus Layer for
// subclassing and tf.layers.input.

const native = require('../native');
const { Layer, NativeLayer, Lambda } = require('./layer');

const SPECIAL = {
  LSTM: 'lstm', GRU: 'gru', RNN: 'rnn', ELU: 'elu', PReLU: 'prelu', ReLU: 'reLU', LeakyReLU: 'leakyReLU',
  SimpleRNN: 'simpleRNN', SimpleRNNCell: 'simpleRNNCell', LSTMCell: 'lstmCell', GRUCell: 'gruCell',
  ThresholdedReLU: 'thresholdedReLU', Cropping2D: 'cropping2D',
};

function factoryName(className) {
  if (SPECIAL[className]) return SPECIAL[className];
  return (className[0].toLowerCase() + className.slice(1)).replace(/([123])D/g, '$1d');
}

const classes = {};
const layers = { Layer };
for (const className of native.layerClassNames()) {
  const cls = { [className]: class extends NativeLayer { static get className() { return className; } } }[className];
  classes[className] = cls;
  layers[factoryName(className)] = (config) => new cls(config || {});
}
// tfjs aliases.
const ALIASES = { maxPool1d: 'maxPooling1d', maxPool2d: 'maxPooling2d', avgPool1d: 'averagePooling1d', avgPool2d: 'averagePooling2d',
  avgPooling1d: 'averagePooling1d', avgPooling2d: 'averagePooling2d', globalMaxPool1d: 'globalMaxPooling1d',
  globalMaxPool2d: 'globalMaxPooling2d', globalAvgPool1d: 'globalAveragePooling1d', globalAvgPool2d: 'globalAveragePooling2d',
  cropping2D: 'cropping2d' };
for (const [alias, target] of Object.entries(ALIASES)) if (layers[target]) layers[alias] = layers[target];

// Keras's Lambda layer (tfjs has none).
layers.lambda = (config) => new Lambda(config);

module.exports = { layers, classes, factoryName };
