'use strict';
// http(s):// — models served over HTTP, read with the global `fetch` (or `fetchFunc`): the
// model.json URL first, then the weight files its manifest lists, relative to it. Saving POSTs
// model.json and model.weights.bin as multipart form data, as tfjs does.

const { getModelArtifactsForJSON, getModelArtifactsInfoForJSON, getModelJSONForModelArtifacts, parseModelJSON } = require('./artifacts');
const { CompositeArrayBuffer, getWeightSpecs } = require('./weights');

const HTTP_SCHEME = /^https?:\/\//;

function isHTTPScheme(url) {
  return typeof url === 'string' && HTTP_SCHEME.test(url);
}

/** `[prefix ending in '/', query suffix]` of a URL (weights sit next to model.json). */
function parseUrl(url) {
  const lastSlash = url.lastIndexOf('/');
  const lastQuery = url.lastIndexOf('?');
  return [`${url.substring(0, lastSlash)}/`, lastQuery > lastSlash ? url.substring(lastQuery) : ''];
}

class HTTPRequest {
  constructor(url, loadOptions = {}) {
    const options = loadOptions || {};
    if (typeof url !== 'string' || url.length === 0) throw new Error(`io.http: expected a URL string, got ${JSON.stringify(url)}`);
    if (options.fetchFunc != null && typeof options.fetchFunc !== 'function') {
      throw new Error('io.http: fetchFunc must be a function with the signature of fetch');
    }
    this.fetch = options.fetchFunc || (typeof fetch === 'function' ? fetch : null);
    if (this.fetch == null) throw new Error('io.http: no fetch function is available (pass loadOptions.fetchFunc)');
    if (options.requestInit != null && options.requestInit.body != null) {
      throw new Error('io.http: requestInit must not have a body');
    }
    this.path = url;
    this.requestInit = options.requestInit || {};
    this.weightPathPrefix = options.weightPathPrefix;
    this.weightUrlConverter = options.weightUrlConverter;
    this.onProgress = options.onProgress;
  }

  async save(artifacts) {
    if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('io.http: saving a binary model topology is not supported');
    const init = { method: 'POST', ...this.requestInit, body: new FormData() };
    const manifest = [{ paths: ['./model.weights.bin'], weights: artifacts.weightSpecs }];
    const modelJSON = getModelJSONForModelArtifacts(artifacts, manifest);
    init.body.append('model.json', new Blob([JSON.stringify(modelJSON)], { type: 'application/json' }), 'model.json');
    if (artifacts.weightData != null) {
      const weights = CompositeArrayBuffer.join(artifacts.weightData);
      init.body.append('model.weights.bin', new Blob([weights], { type: 'application/octet-stream' }), 'model.weights.bin');
    }
    const response = await this.fetch(this.path, init);
    if (!response.ok) throw new Error(`io.http: saving to ${this.path} failed with HTTP status ${response.status}`);
    return { modelArtifactsInfo: getModelArtifactsInfoForJSON(artifacts), responses: [response] };
  }

  async load() {
    const response = await this.fetch(this.path, this.requestInit);
    if (!response.ok) {
      throw new Error(`io.http: the request for ${this.path} failed with HTTP status ${response.status}; check that the URL points to a model.json`);
    }
    const modelJSON = parseModelJSON(await response.text(), `io.http: the model JSON from ${this.path}`);
    return getModelArtifactsForJSON(modelJSON, (manifest) => this.loadWeights(manifest));
  }

  async loadWeights(manifest) {
    const [prefix, suffix] = parseUrl(this.path);
    const pathPrefix = this.weightPathPrefix || prefix;
    const paths = manifest.flatMap((group) => group.paths);
    const urls = this.weightUrlConverter != null
      ? await Promise.all(paths.map((p) => this.weightUrlConverter(p)))
      : paths.map((p) => pathPrefix + p + suffix);
    const buffers = await Promise.all(urls.map(async (u) => {
      const r = await this.fetch(u, this.requestInit, { isBinary: true });
      if (!r.ok) throw new Error(`io.http: the request for the weight file ${u} failed with HTTP status ${r.status}`);
      return r.arrayBuffer();
    }));
    if (typeof this.onProgress === 'function') this.onProgress(1);
    return [getWeightSpecs(manifest), new CompositeArrayBuffer(buffers).slice()];
  }
}

function http(url, loadOptions) {
  return new HTTPRequest(url, loadOptions);
}

function browserHTTPRequest(url, loadOptions) {
  return http(url, loadOptions);
}

function httpRouter(url, loadOptions) {
  if (typeof fetch !== 'function' && (loadOptions == null || loadOptions.fetchFunc == null)) return null;
  const ok = Array.isArray(url) ? url.every(isHTTPScheme) : isHTTPScheme(url);
  return ok ? http(url, loadOptions) : null;
}

module.exports = { HTTPRequest, http, browserHTTPRequest, httpRouter, isHTTPScheme, parseUrl };
