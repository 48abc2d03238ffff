'use strict';
// Model configs (camelCase, as converted from model.json) back into layers and models: each
// layer's class is found in the serialization registry (built-in layers are registered here;
// custom layers with tf.serialization.registerClass) and constructed from its config; Sequential
// models re-add their layers, functional models re-apply every layer to the nodes listed in its
// `inboundNodes`. Built-in layers read file configs leniently: keys they do not know are ignored.

const { SerializationMap, getRegisteredClass } = require('../serialization');
const { describe } = require('./weights');

/** Marks a config as read from a model file (built-in layers then ignore unknown keys). */
const FROM_FILE = Symbol.for('ferrograd.configFromFile');

let builtinsRegistered = false;

/** Registers the built-in layer and model classes (as tfjs's SerializationMap holds them). */
function registerBuiltins() {
  if (builtinsRegistered) return;
  builtinsRegistered = true;
  const { classes } = require('../layers');
  const { InputLayer, Sequential, LayersModel } = require('../models/model');
  const map = SerializationMap.getMap().classNameMap;
  const add = (name, cls) => {
    if (!(name in map)) map[name] = [cls, undefined];
  };
  for (const [name, cls] of Object.entries(classes)) add(name, cls);
  add('InputLayer', InputLayer);
  add('Sequential', Sequential);
  add('Model', LayersModel);
  add('Functional', LayersModel);
}

function isObject(v) {
  return v != null && typeof v === 'object' && !Array.isArray(v);
}

/** Keras writes a dtype policy object where tfjs writes a dtype name. */
function dtypeName(dtype) {
  if (isObject(dtype) && isObject(dtype.config) && typeof dtype.config.name === 'string') return dtype.config.name;
  return dtype;
}

class Deserializer {
  /** `where` prefixes errors (e.g. 'loadLayersModel'); created layers are kept to dispose on failure. */
  constructor(where, customObjects) {
    registerBuiltins();
    this.where = where;
    this.customObjects = customObjects || {};
    this.created = [];
  }

  fail(message) {
    return new Error(`${this.where}: ${message}`);
  }

  lookup(className) {
    if (Object.prototype.hasOwnProperty.call(this.customObjects, className)) {
      const entry = this.customObjects[className];
      return Array.isArray(entry) ? entry : [entry, entry && entry.fromConfig];
    }
    return getRegisteredClass(className);
  }

  /** A layer or model from `{className, config}`. */
  layer(spec, where) {
    if (!isObject(spec) || typeof spec.className !== 'string' || !isObject(spec.config)) {
      throw this.fail(`${where} must be {class_name, config: {...}}, got ${describe(spec)}`);
    }
    const { className } = spec;
    if (['Sequential', 'Model', 'Functional'].includes(className)) return this.model(spec);
    const entry = this.lookup(className);
    if (entry == null || typeof entry[0] !== 'function') {
      throw this.fail(`unknown layer class '${className}' (${where}); a custom layer must be registered with tf.serialization.registerClass before loading`);
    }
    const [cls, fromConfig] = entry;
    const config = { ...spec.config };
    if ('dtype' in config) config.dtype = dtypeName(config.dtype);
    if (className === 'InputLayer' && config.batchInputShape == null && config.batchShape != null) config.batchInputShape = config.batchShape;
    const { NativeLayer } = require('../layers/layer');
    let layer;
    try {
      if (cls.prototype instanceof NativeLayer) layer = new cls({ ...config, [FROM_FILE]: true });
      else if (typeof fromConfig === 'function') layer = fromConfig(cls, config, this.customObjects);
      else layer = new cls(config);
    } catch (e) {
      throw this.fail(`cannot create layer ${describe(config.name)} of class ${className}: ${e.message}`);
    }
    if (layer == null || typeof layer.apply !== 'function') throw this.fail(`class ${className} did not construct a layer`);
    this.created.push(layer);
    return layer;
  }

  /** A Sequential or functional model from `{className, config}`. */
  model(spec) {
    const { className, config } = spec;
    if (className === 'Sequential') return this.sequential(config);
    return this.functional(config);
  }

  sequential(config) {
    const { Sequential } = require('../models/model');
    const list = Array.isArray(config) ? config : isObject(config) ? config.layers : null;
    if (!Array.isArray(list)) throw this.fail(`a Sequential config needs a layers list, got ${describe(config)}`);
    const name = isObject(config) && typeof config.name === 'string' ? config.name : undefined;
    const model = new Sequential({ name });
    this.created.push(model);
    list.forEach((spec, i) => {
      const layer = this.layer(spec, `layer ${i} of Sequential model ${describe(name)}`);
      try {
        model.add(layer);
      } catch (e) {
        throw this.fail(`adding layer ${layer.name} (${i}) to Sequential model ${describe(name)}: ${e.message}`);
      }
    });
    if (list.length === 0) throw this.fail(`Sequential model ${describe(name)} has no layers`);
    return model;
  }

  functional(config) {
    const { LayersModel } = require('../models/model');
    const { nodeBase } = require('./topology');
    if (!isObject(config) || !Array.isArray(config.layers)) throw this.fail(`a functional model config needs a layers list, got ${describe(config)}`);
    const modelName = typeof config.name === 'string' ? config.name : undefined;
    const byName = new Map();
    const pending = new Map();
    config.layers.forEach((entry, i) => {
      const where = `layer ${i} of model ${describe(modelName)}`;
      if (!isObject(entry)) throw this.fail(`${where} must be {name, class_name, config, inbound_nodes}, got ${describe(entry)}`);
      const name = typeof entry.name === 'string' ? entry.name : isObject(entry.config) ? entry.config.name : undefined;
      if (typeof name !== 'string') throw this.fail(`${where} has no name`);
      if (byName.has(name)) throw this.fail(`model ${describe(modelName)} has two layers named '${name}'`);
      const layer = this.layer(entry, `layer '${name}'`);
      byName.set(name, layer);
      const nodes = entry.inboundNodes == null ? [] : entry.inboundNodes;
      if (!Array.isArray(nodes) || !nodes.every(Array.isArray)) throw this.fail(`layer '${name}': inbound_nodes must be a list of node lists, got ${describe(nodes)}`);
      pending.set(name, nodes.slice());
    });
    const tensorAt = (ref, where, strict) => {
      if (!Array.isArray(ref) || typeof ref[0] !== 'string' || !Number.isInteger(ref[1]) || ref[1] < 0 || !Number.isInteger(ref[2]) || ref[2] < 0) {
        throw this.fail(`${where}: expected [layer name, node index, tensor index], got ${describe(ref)}`);
      }
      const [layerName, nodeIndex, tensorIndex] = ref;
      const layer = byName.get(layerName);
      if (layer == null) throw this.fail(`${where} refers to layer '${layerName}', which the model does not have`);
      const node = layer.inboundNodes[nodeIndex - nodeBase(layer)];
      if (node == null) {
        if (strict) throw this.fail(`${where} refers to node ${nodeIndex} of layer '${layerName}', which is never created`);
        return null;
      }
      const t = node.outputs[tensorIndex];
      if (t == null) throw this.fail(`${where} refers to output ${tensorIndex} of layer '${layerName}', which has ${node.outputs.length} output(s)`);
      return t;
    };
    // Apply each layer to its nodes, in order, as soon as their inputs exist.
    for (let progress = true; progress;) {
      progress = false;
      for (const [name, nodes] of pending) {
        while (nodes.length > 0) {
          const inputs = nodes[0].map((ref) => tensorAt(ref, `an inbound node of layer '${name}'`, false));
          if (inputs.some((t) => t == null)) break;
          const data = nodes.shift();
          if (inputs.length === 0) continue;
          const last = data[data.length - 1];
          const kwargs = isObject(last[3]) ? last[3] : {};
          const layer = byName.get(name);
          try {
            layer.apply(inputs.length === 1 ? inputs[0] : inputs, kwargs);
          } catch (e) {
            throw this.fail(`applying layer '${name}' to its inputs: ${e.message}`);
          }
          progress = true;
        }
      }
    }
    for (const [name, nodes] of pending) {
      if (nodes.length > 0) {
        const missing = nodes[0].find((ref) => tensorAt(ref, `an inbound node of layer '${name}'`, false) == null);
        throw this.fail(`layer '${name}' takes its input from ${describe(missing)}, which no layer of the model produces (or the inbound nodes form a cycle)`);
      }
    }
    const refs = (key) => {
      const list = config[key];
      if (!Array.isArray(list) || list.length === 0) throw this.fail(`model ${describe(modelName)}: ${key === 'inputLayers' ? 'input_layers' : 'output_layers'} must be a non-empty list, got ${describe(list)}`);
      return list.map((ref, i) => tensorAt(ref, `${key === 'inputLayers' ? 'input_layers' : 'output_layers'}[${i}]`, true));
    };
    const inputs = refs('inputLayers');
    const outputs = refs('outputLayers');
    let model;
    try {
      model = new LayersModel({ inputs, outputs, name: modelName });
    } catch (e) {
      throw this.fail(`model ${describe(modelName)}: ${e.message}`);
    }
    this.created.push(model);
    return model;
  }

  /** Releases the weights of every layer created so far (after a failed load). */
  disposeCreated() {
    for (const layer of this.created.reverse()) {
      try {
        if (!require('./topology').isModel(layer)) layer.dispose();
      } catch (e) {
        void e;
      }
    }
    this.created = [];
  }
}

/** A layer or model from a camelCase `{className, config}` (tfjs `deserialize`). */
function deserialize(config, customObjects, where = 'deserialize') {
  const d = new Deserializer(where, customObjects);
  try {
    return d.layer(config, 'the model config');
  } catch (e) {
    d.disposeCreated();
    throw e;
  }
}

module.exports = { Deserializer, deserialize, registerBuiltins, FROM_FILE };
