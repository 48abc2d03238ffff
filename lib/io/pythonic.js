'use strict';
// The two spellings of a config: camelCase in JavaScript, snake_case in model files (Keras's).
// Keys and string values are converted both ways as tfjs does, except layer and model names
// (`name` values, and the layer names that start entries of inbound nodes, input and output
// layer lists), which stay as they are.

function toSnakeCase(name) {
  const snake = name.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  // A leading underscore would make a private-looking name scope; tfjs prefixes it.
  return snake[0] === '_' ? `private${snake}` : snake;
}

function toCamelCase(identifier) {
  if (identifier.length <= 1 || !identifier.includes('_')) return identifier;
  return identifier.replace(/[_]+(\w|$)/g, (m, c) => c.toUpperCase());
}

const NAME_LISTS = ['inboundNodes', 'inputLayers', 'outputLayers'];

// `key` is the camelCase key the value sits under (passed down through nested arrays).
function isLayerNameAt(key, index, value) {
  return NAME_LISTS.includes(key) && index === 0 && typeof value === 'string';
}

/** A camelCase config as written to a model file (undefined values become null). */
function convertTsToPythonic(config, key) {
  if (config === null || config === undefined) return null;
  if (typeof config === 'string') return toSnakeCase(config);
  if (typeof config === 'number' || typeof config === 'boolean') return config;
  if (Array.isArray(config)) return config.map((v, i) => (isLayerNameAt(key, i, v) ? v : convertTsToPythonic(v, key)));
  const out = {};
  for (const k of Object.keys(config)) {
    const v = config[k];
    if ((k === 'name' || k === 'className') && typeof v === 'string') out[toSnakeCase(k)] = v;
    else out[toSnakeCase(k)] = convertTsToPythonic(v, k);
  }
  return out;
}

/** A snake_case config read from a model file, as JavaScript configs spell it. */
function convertPythonicToTs(config, key) {
  if (config === null || config === undefined) return null;
  if (typeof config === 'string') return toCamelCase(config);
  if (typeof config === 'number' || typeof config === 'boolean') return config;
  if (Array.isArray(config)) return config.map((v, i) => (isLayerNameAt(key, i, v) ? v : convertPythonicToTs(v, key)));
  const out = {};
  for (const k of Object.keys(config)) {
    const v = config[k];
    if (k === 'name' && typeof v === 'string') out[k] = v;
    else {
      const tsKey = toCamelCase(k);
      out[tsKey] = convertPythonicToTs(v, tsKey);
    }
  }
  return out;
}

module.exports = { toSnakeCase, toCamelCase, convertTsToPythonic, convertPythonicToTs };
