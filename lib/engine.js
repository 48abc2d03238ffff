'use strict';
// The JS side of the engine: tidy scopes, kernel dispatch (`runKernel`), the kernel and
// gradient registries as tfjs exposes them, and the gradient functions over native tapes.

const native = require('./native');
const { Tensor, Variable, wrap, scopes, watch } = require('./tensor');
const { convertToTensor, fromFlat } = require('./convert');
const variables = require('./variables');

const BACKEND = 'cpu';

// ---- scopes and memory -------------------------------------------------------------------

function collectTensors(container, out = new Set(), seen = new Set()) {
  if (container == null || typeof container !== 'object') return out;
  if (container instanceof Tensor) { out.add(container); return out; }
  if (seen.has(container)) return out;
  seen.add(container);
  const values = Array.isArray(container) ? container : Object.values(container);
  for (const v of values) collectTensors(v, out, seen);
  return out;
}

/** Runs `fn` in a fresh scope; returns its result and the tensors created in the scope. */
function runScoped(fn) {
  const scope = [];
  scopes.push(scope);
  let result;
  try {
    result = fn();
  } catch (err) {
    // What the failed call made is of no use to anyone: free it before passing the error on.
    for (const t of scope) if (!t.kept && !(t instanceof Variable) && !t.isDisposed) native.dispose(t.h);
    throw err;
  } finally {
    scopes.pop();
  }
  return { result, scope };
}

function endScope(scope, result) {
  const keep = collectTensors(result);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  for (const t of scope) {
    if (keep.has(t)) {
      if (parent) parent.push(t);
      else watch(t);
    } else if (t.kept) {
      watch(t);
    } else if (!(t instanceof Variable)) {
      native.dispose(t.h);
    }
  }
}

function tidy(nameOrFn, fn) {
  if (typeof nameOrFn === 'function') fn = nameOrFn;
  if (typeof fn !== 'function') throw new Error('tidy: expected a function (or a name and a function)');
  const scope = [];
  scopes.push(scope);
  let result;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    endScope(scope, undefined);
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new Error('tidy: cannot return a Promise inside of tidy (tidy runs synchronously)');
  }
  endScope(scope, result);
  return result;
}

function keep(t) {
  if (t instanceof Tensor) t.kept = true;
  return t;
}

function dispose(container) {
  for (const t of collectTensors(container)) t.dispose();
}

function memory() {
  const m = native.memory();
  return { numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes, unreliable: false };
}

function disposeVariables() {
  variables.disposeAll();
}

// ---- kernels ---------------------------------------------------------------------------------

const declaredNames = new Map();
function inputNamesOf(name) {
  let n = declaredNames.get(name);
  if (n === undefined) {
    n = native.inputNames(name) || null;
    declaredNames.set(name, n);
  }
  return n;
}

/** tfjs `ENGINE.runKernel`: named inputs, attrs; one Tensor or an array of them. */
function runKernel(kernelName, inputs, attrs) {
  if (typeof kernelName !== 'string') throw new Error('runKernel: kernelName must be a string');
  let names;
  let tensors;
  if (Array.isArray(inputs)) {
    tensors = inputs;
    names = inputs.map((_, i) => String(i));
  } else {
    inputs = inputs || {};
    const declared = inputNamesOf(kernelName);
    if (declared && declared.length > 0) {
      names = declared.filter((n) => inputs[n] != null);
      const unknown = Object.keys(inputs).filter((k) => inputs[k] != null && !declared.includes(k));
      if (unknown.length > 0) {
        throw new Error(`${kernelName}: unknown input(s) ${unknown.join(', ')} (the kernel's inputs are ${declared.join(', ')})`);
      }
    } else {
      names = Object.keys(inputs).filter((k) => inputs[k] != null);
    }
    tensors = names.map((n) => inputs[n]);
  }
  // TensorInfo objects (what JS kernels receive) pass their handle through as they are.
  const handles = tensors.map((t, i) => (t != null && !(t instanceof Tensor) && t.dataId != null ? t.dataId : convertToTensor(t, names[i], kernelName).h));
  const outs = native.runKernel(kernelName, handles, attrs == null ? null : plainAttrs(attrs), names);
  return outs.length === 1 ? wrap(outs[0]) : outs.map(wrap);
}

// Attrs travel as JSON: tensors in attrs are not supported, undefined becomes absent.
function plainAttrs(attrs) {
  const out = {};
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === undefined) continue;
    if (v instanceof Tensor) throw new Error(`attribute '${k}' must not be a Tensor`);
    out[k] = v;
  }
  return out;
}

// The fast paths ops use (no name lookups, no arrays).
function k1(name, x, attrs) {
  return wrap(native.run1(name, x.h, attrs === undefined ? null : attrs));
}
function k2(name, a, b, attrs) {
  return wrap(native.run2(name, a.h, b.h, attrs === undefined ? null : attrs));
}

// What JS kernels see as `backend`: read and write data by dataId (a native handle).
const createdInfos = new Set();
const backend = {
  readSync(dataId) { return native.readData(dataId); },
  async read(dataId) { return native.readData(dataId); },
  makeTensorInfo(shape, dtype, values) {
    dtype = dtype || 'float32';
    const n = shape.reduce((a, b) => a * b, 1);
    if (values == null) values = new (dtype === 'int32' ? Int32Array : dtype === 'bool' ? Uint8Array : Float32Array)(n);
    const t = fromFlat(values, shape, dtype);
    const info = { dataId: t.h, shape: shape.slice(), dtype };
    // The tensor object was only a vehicle; its handle is released by the native caller.
    const sc = scopes[scopes.length - 1];
    if (sc && sc[sc.length - 1] === t) sc.pop();
    createdInfos.add(t.h);
    return info;
  },
  disposeData(dataId) { native.dispose(dataId); return true; },
  numDataIds() { return native.memory().numDataBuffers; },
  epsilon() { return 1e-7; },
  floatPrecision() { return 32; },
};

function infoOf(h) {
  const m = native.meta(h);
  return { dataId: h, shape: m.slice(2), dtype: ['float32', 'int32', 'bool'][m[0]] };
}

/** `{h, o}` for native: the result handles, and which of them native may release. */
function results(outs, fresh) {
  return {
    h: outs.map((o) => o.h || o.dataId),
    o: outs.map((o) => fresh.has(o.h || o.dataId)),
  };
}

function kernelWrapper(kernelFunc, kernelName) {
  return (handles, names, attrs) => {
    const fresh = new Set(handles);
    const inputs = {};
    names.forEach((n, i) => { inputs[n] = infoOf(handles[i]); });
    let ran;
    try {
      ran = runScoped(() => kernelFunc({ inputs, backend, attrs }));
    } catch (err) {
      // Free the inputs handed to this call and whatever it made before failing.
      for (const h of [...fresh, ...createdInfos]) native.dispose(h);
      createdInfos.clear();
      throw err;
    }
    const { result, scope } = ran;
    for (const h of createdInfos) fresh.add(h);
    createdInfos.clear();
    const outs = Array.isArray(result) ? result : [result];
    if (outs.length === 0 || outs.some((o) => o == null || (o.dataId == null && !(o instanceof Tensor)))) {
      throw new Error(`kernel '${kernelName}': kernelFunc must return a TensorInfo (backend.makeTensorInfo) or an array of them`);
    }
    for (const t of scope) fresh.add(t.h);
    const r = results(outs, fresh);
    // Release what this call made and does not return.
    const returned = new Set(r.h);
    for (const h of fresh) if (!returned.has(h)) native.dispose(h);
    return r;
  };
}

function registerKernel(config) {
  const { kernelName, backendName, kernelFunc, setupFunc } = config || {};
  if (typeof kernelName !== 'string') throw new Error('registerKernel: kernelName must be a string');
  if (typeof kernelFunc !== 'function') throw new Error(`registerKernel (${kernelName}): kernelFunc must be a function`);
  const be = backendName || BACKEND;
  const replaced = native.registerKernel(kernelName, be, kernelWrapper(kernelFunc, kernelName));
  if (replaced) console.warn(`The kernel '${kernelName}' for backend '${be}' is already registered`);
  kernelConfigs.set(`${kernelName}_${be === 'tensorflow' ? BACKEND : be}`, { ...config, backendName: be });
  if (typeof setupFunc === 'function') setupFunc(backend);
}

const kernelConfigs = new Map();

function unregisterKernel(kernelName, backendName) {
  const be = backendName === 'tensorflow' ? BACKEND : backendName;
  native.unregisterKernel(kernelName, be);
  const key = `${kernelName}_${be}`;
  const cfg = kernelConfigs.get(key);
  if (cfg && typeof cfg.disposeFunc === 'function') cfg.disposeFunc(backend);
  kernelConfigs.delete(key);
}

function getKernel(kernelName, backendName) {
  const be = backendName === 'tensorflow' ? BACKEND : backendName;
  const cfg = kernelConfigs.get(`${kernelName}_${be}`);
  if (cfg) return cfg;
  const [registered, isNative] = native.kernelInfo(kernelName, be);
  if (!registered) return undefined;
  return {
    kernelName,
    backendName: be,
    native: isNative,
    kernelFunc: ({ inputs, attrs }) => runKernel(kernelName, inputs, attrs),
  };
}

function getKernelsForBackend(backendName) {
  const be = backendName === 'tensorflow' ? BACKEND : backendName;
  return native.kernelNames(be).map((n) => getKernel(n, be));
}

// ---- gradients -------------------------------------------------------------------------------

const gradientConfigs = new Map();

function gradientWrapper(gradFunc, kernelName) {
  return (dyHandles, savedHandles, attrs) => {
    const { result, scope } = runScoped(() => {
      const dys = dyHandles.map(wrap);
      const saved = savedHandles.map(wrap);
      const g = gradFunc(dys.length === 1 ? dys[0] : dys, saved, attrs);
      if (g == null || typeof g !== 'object') {
        throw new Error(`gradient of '${kernelName}': gradFunc must return an object of input name → () => Tensor`);
      }
      const names = [];
      const outs = [];
      for (const name of Object.keys(g)) {
        const fn = g[name];
        const t = typeof fn === 'function' ? fn() : fn;
        if (!(t instanceof Tensor)) throw new Error(`gradient of '${kernelName}': the gradient for input '${name}' must be a Tensor`);
        names.push(name);
        outs.push(t);
      }
      return { names, outs };
    });
    const fresh = new Set(scope.map((t) => t.h));
    const r = results(result.outs, fresh);
    const returned = new Set(r.h);
    for (const t of scope) if (!returned.has(t.h) && !t.kept) native.dispose(t.h);
    return { n: result.names, ...r };
  };
}

function registerGradient(config) {
  const { kernelName, inputsToSave, saveAllInputs, outputsToSave, gradFunc } = config || {};
  if (typeof kernelName !== 'string') throw new Error('registerGradient: kernelName must be a string');
  if (typeof gradFunc !== 'function') throw new Error(`registerGradient (${kernelName}): gradFunc must be a function`);
  if (gradientConfigs.has(kernelName) || native.gradientInfo(kernelName)[0]) {
    // tfjs warns and overrides.
    if (gradientConfigs.has(kernelName)) console.warn(`Overriding the gradient for '${kernelName}'`);
  }
  native.registerGradient(kernelName, gradientWrapper(gradFunc, kernelName), inputsToSave || [], !!saveAllInputs, outputsToSave || []);
  gradientConfigs.set(kernelName, config);
}

function unregisterGradient(kernelName) {
  native.unregisterGradient(kernelName);
  gradientConfigs.delete(kernelName);
}

function getGradient(kernelName) {
  const cfg = gradientConfigs.get(kernelName);
  if (cfg) return cfg;
  const [registered] = native.gradientInfo(kernelName);
  return registered ? { kernelName, native: true } : undefined;
}

/** Records `f()` on a new tape and differentiates its result w.r.t. `xs`. */
function gradientsOf(f, xs, dy, fnName) {
  const tape = native.tapePush();
  let y;
  try {
    y = f();
  } finally {
    native.tapePop(tape);
  }
  if (!(y instanceof Tensor)) throw new Error(`${fnName}: the result y returned by f() must be a tensor`);
  if (dy != null) {
    dy = convertToTensor(dy, 'dy', fnName);
    if (JSON.stringify(dy.shape) !== JSON.stringify(y.shape)) {
      throw new Error(`${fnName}: the shape of dy [${dy.shape}] must match the shape of y [${y.shape}]`);
    }
  }
  const gs = native.tapeGradients(tape, y.h, xs.map((x) => x.h), dy ? dy.h : null);
  return { y, grads: gs.map((g) => (g == null ? null : wrap(g))) };
}

function checkConnected(grads, fnName) {
  if (grads.some((g) => g == null)) {
    throw new Error(
      `${fnName}: cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.`,
    );
  }
}

function valueAndGrads(f) {
  if (typeof f !== 'function') throw new Error('valueAndGrads: the f passed in must be a function');
  return (args, dy) => {
    if (!Array.isArray(args)) throw new Error('valueAndGrads: the args passed in valueAndGrads(f)(args) must be an array of tensors');
    const xs = args.map((a, i) => convertToTensor(a, `args[${i}]`, 'valueAndGrads'));
    return tidy(() => {
      const { y, grads } = gradientsOf(() => f(...xs), xs, dy, 'valueAndGrads');
      checkConnected(grads, 'valueAndGrads');
      return { value: y, grads };
    });
  };
}

function grads(f) {
  if (typeof f !== 'function') throw new Error('grads: the f passed in must be a function');
  return (args, dy) => {
    const { value, grads: g } = valueAndGrads(f)(args, dy);
    value.dispose();
    return g;
  };
}

function valueAndGrad(f) {
  if (typeof f !== 'function') throw new Error('valueAndGrad: the f passed in must be a function');
  return (x, dy) => {
    if (!(x instanceof Tensor)) throw new Error('valueAndGrad: the x passed in valueAndGrad(f)(x) must be a tensor');
    const { value, grads: g } = valueAndGrads((t) => f(t))([x], dy);
    return { value, grad: g[0] };
  };
}

function grad(f) {
  if (typeof f !== 'function') throw new Error('grad: the f passed in must be a function');
  return (x, dy) => {
    if (!(x instanceof Tensor)) throw new Error('grad: the x passed in grad(f)(x) must be a tensor');
    const { value, grad: g } = valueAndGrad(f)(x, dy);
    value.dispose();
    return g;
  };
}

function variableGrads(f, varList) {
  if (typeof f !== 'function') throw new Error('variableGrads: the f passed in must be a function');
  if (varList != null && (!Array.isArray(varList) || varList.some((v) => !(v instanceof Variable)))) {
    throw new Error('variableGrads: varList must be an array of Variables');
  }
  const vars = varList != null ? varList : [...variables.registered.values()].filter((v) => v.trainable);
  return tidy(() => {
    const { y, grads: g } = gradientsOf(f, vars, null, 'variableGrads');
    if (y.rank !== 0) throw new Error(`variableGrads: the result y returned by f() must be a scalar, but has shape [${y.shape}]`);
    const out = {};
    let any = false;
    vars.forEach((v, i) => {
      if (g[i] != null) { out[v.name] = g[i]; any = true; }
    });
    if (!any) {
      throw new Error('variableGrads: cannot find a connection between any variable and the result of the loss function y=f(x). Please make sure the operations that use variables are inside the function f passed to minimize().');
    }
    return { value: y, grads: out };
  });
}

function customGrad(f) {
  if (typeof f !== 'function') throw new Error('customGrad: the f passed in must be a function');
  return (...inputs) => {
    const xs = inputs.map((x, i) => convertToTensor(x, `args[${i}]`, 'customGrad'));
    let saved = [];
    const save = (ts) => { saved = ts; };
    const paused = native.pauseTapes();
    let res;
    try {
      res = f(...xs, save);
    } finally {
      native.resumeTapes(paused);
    }
    if (res == null || !(res.value instanceof Tensor || Array.isArray(res.value))) {
      throw new Error('customGrad: the function f must return an object {value: Tensor, gradFunc: (dy, saved) => Tensor | Tensor[]}');
    }
    if (typeof res.gradFunc !== 'function') throw new Error('customGrad: the function f must return an object with a gradFunc function');
    const outs = Array.isArray(res.value) ? res.value : [res.value];
    if (native.isRecording()) {
      // Saved tensors outlive the scope that made them: hold private handles until backward.
      const held = saved.map((t) => wrapUntracked(native.cloneHandle(t.h)));
      const userGrad = res.gradFunc;
      const wrapper = gradientWrapper((dy) => {
        let g;
        try {
          g = userGrad(dy, held);
        } finally {
          // The backward pass runs once per recording; what it saved is no longer needed.
          for (const t of held) if (!t.isDisposed) t.dispose();
        }
        const list = Array.isArray(g) ? g : [g];
        if (list.length !== xs.length) {
          throw new Error(`customGrad: gradFunc must return ${xs.length} gradient(s) (one per input), got ${list.length}`);
        }
        const named = {};
        list.forEach((t, i) => { named[String(i)] = () => t; });
        return named;
      }, 'customGrad');
      native.recordCustom(xs.map((x) => x.h), outs.map((o) => o.h), wrapper);
    }
    return res.value;
  };
}

function wrapUntracked(h) {
  const t = wrap(h);
  const sc = scopes[scopes.length - 1];
  if (sc && sc[sc.length - 1] === t) sc.pop();
  return t;
}

const engineObject = {
  runKernel,
  backend,
  backendName: BACKEND,
  tidy,
  keep,
  dispose,
  memory,
  startScope() { scopes.push([]); },
  endScope(result) { const s = scopes.pop(); if (s) endScope(s, result); },
  get registeredVariables() { return Object.fromEntries(variables.registered); },
  reset() { disposeVariables(); },
};

module.exports = {
  BACKEND, tidy, keep, dispose, memory, disposeVariables, runKernel, k1, k2, backend,
  registerKernel, unregisterKernel, getKernel, getKernelsForBackend,
  registerGradient, unregisterGradient, getGradient,
  grad, grads, valueAndGrad, valueAndGrads, variableGrads, customGrad,
  runScoped, endScope, collectTensors, wrapUntracked, engine: () => engineObject,
};
