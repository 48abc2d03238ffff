'use strict';
// tf.serialization: the registry of classes a model file can name (tfjs's SerializationMap).
// Built-in layers and models are registered when the io module loads; custom JavaScript layers
// register with `registerClass` so that `loadLayersModel` can rebuild them with `new Cls(config)`.

/** A base for classes with a config (tfjs `serialization.Serializable`). */
class Serializable {
  getClassName() { return this.constructor.className; }
  static fromConfig(cls, config) { return new cls(config); }
}

class SerializationMap {
  constructor() { this.classNameMap = {}; }
  static getMap() {
    if (SerializationMap.instance == null) SerializationMap.instance = new SerializationMap();
    return SerializationMap.instance;
  }
  static register(cls) {
    SerializationMap.getMap().classNameMap[cls.className] = [cls, cls.fromConfig];
  }
}

const registeredNames = new Map();

/** Registers `cls` under its static `className` (tfjs `registerClass(cls, pkg?, name?)`). */
function registerClass(cls, pkg, name) {
  if (typeof cls !== 'function') {
    throw new Error(`serialization.registerClass: expected a class, got ${cls === null ? 'null' : typeof cls}`);
  }
  const className = cls.className;
  if (className == null) throw new Error(`serialization.registerClass: class ${cls.name} has no static className property`);
  if (typeof className !== 'string') {
    throw new Error(`serialization.registerClass: className must be a string, got ${typeof className} (class ${cls.name})`);
  }
  if (className.length === 0) throw new Error(`serialization.registerClass: class ${cls.name} has an empty className`);
  SerializationMap.register(cls);
  registeredNames.set(cls, `${pkg === undefined ? 'Custom' : pkg}>${name === undefined ? className : name}`);
  return cls;
}

/** The `package>name` a class was registered under (its className when not registered). */
function getRegisteredName(cls) {
  return registeredNames.has(cls) ? registeredNames.get(cls) : cls.className;
}

/** The class registered under `className`, or undefined. */
function getRegisteredClass(className) {
  const map = SerializationMap.getMap().classNameMap;
  return Object.prototype.hasOwnProperty.call(map, className) ? map[className] : undefined;
}

const serialization = { Serializable, SerializationMap, registerClass, getRegisteredName };

module.exports = { serialization, Serializable, SerializationMap, registerClass, getRegisteredName, getRegisteredClass };
