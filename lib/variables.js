'use strict';
// The registry of live variables (tfjs `ENGINE.registeredVariables`): names are unique, and
// `disposeVariables()` releases them all.

const registered = new Map();
let counter = 0;

function uniqueName() {
  let name;
  do { name = String(counter++); } while (registered.has(name));
  return name;
}

function add(v) {
  if (registered.has(v.name)) throw new Error(`Variable with name ${v.name} was already registered`);
  registered.set(v.name, v);
}

function forget(v) {
  if (registered.get(v.name) === v) registered.delete(v.name);
}

function disposeAll() {
  for (const v of [...registered.values()]) v.dispose();
  registered.clear();
}

module.exports = { registered, add, forget, disposeAll, uniqueName };
