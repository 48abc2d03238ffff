'use strict';
// model.json ⇄ model artifacts: the JSON object a model file holds, the in-memory artifacts
// IOHandlers pass around (topology, weight specs and data, training config, ...), and the
// SaveResult summary of a save.

const { CompositeArrayBuffer, getWeightSpecs } = require('./weights');

function stringByteLength(s) {
  return Buffer.byteLength(s, 'utf8');
}

/** tfjs's `ModelArtifactsInfo` for artifacts with a JSON topology. */
function getModelArtifactsInfoForJSON(artifacts) {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new Error('io.getModelArtifactsInfoForJSON: expected a JSON model topology, got an ArrayBuffer');
  }
  return {
    dateSaved: new Date(),
    modelTopologyType: 'JSON',
    modelTopologyBytes: artifacts.modelTopology == null ? 0 : stringByteLength(JSON.stringify(artifacts.modelTopology)),
    weightSpecsBytes: artifacts.weightSpecs == null ? 0 : stringByteLength(JSON.stringify(artifacts.weightSpecs)),
    weightDataBytes: artifacts.weightData == null ? 0 : new CompositeArrayBuffer(artifacts.weightData).byteLength,
  };
}

/** The model.json object for `artifacts` whose weights are stored as `manifest` (tfjs order). */
function getModelJSONForModelArtifacts(artifacts, manifest) {
  const out = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: manifest,
  };
  for (const k of ['signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'trainingConfig']) {
    if (artifacts[k] != null) out[k] = artifacts[k];
  }
  return out;
}

/** Artifacts from a parsed model.json plus the weight specs and data its manifest points to. */
function getModelArtifactsForJSONSync(modelJSON, weightSpecs, weightData) {
  const artifacts = {
    modelTopology: modelJSON.modelTopology,
    format: modelJSON.format,
    generatedBy: modelJSON.generatedBy,
    convertedBy: modelJSON.convertedBy,
  };
  if (modelJSON.trainingConfig != null) artifacts.trainingConfig = modelJSON.trainingConfig;
  if (modelJSON.weightsManifest != null) {
    if (!weightSpecs) throw new Error('io.getModelArtifactsForJSON: the model JSON has a weightsManifest but no weight specs were given');
    if (!weightData) throw new Error('io.getModelArtifactsForJSON: the model JSON has a weightsManifest but no weight data was given');
    artifacts.weightSpecs = weightSpecs;
    artifacts.weightData = weightData;
  }
  for (const k of ['signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature']) {
    if (modelJSON[k] != null) artifacts[k] = modelJSON[k];
  }
  return artifacts;
}

/** Like the sync form, with `loadWeights(manifest) → Promise<[specs, data]>` fetching the weights. */
async function getModelArtifactsForJSON(modelJSON, loadWeights) {
  let weightSpecs;
  let weightData;
  if (modelJSON.weightsManifest != null) [weightSpecs, weightData] = await loadWeights(modelJSON.weightsManifest);
  return getModelArtifactsForJSONSync(modelJSON, weightSpecs, weightData);
}

/**
 * Parses model.json text, checking the fields a loader relies on; `source` names the file in
 * errors.
 */
function parseModelJSON(text, source) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON (${e.message})`);
  }
  if (json == null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${source} must hold a JSON object with modelTopology and/or weightsManifest, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  }
  if (json.modelTopology == null && json.weightsManifest == null) {
    throw new Error(`${source} has neither a modelTopology nor a weightsManifest`);
  }
  if (json.weightsManifest != null) {
    try {
      getWeightSpecs(json.weightsManifest);
    } catch (e) {
      throw new Error(`${source}: ${e.message}`);
    }
    json.weightsManifest.forEach((group, i) => {
      if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string' && p.length > 0)) {
        throw new Error(`${source}: weightsManifest[${i}].paths must be a list of file names, got ${JSON.stringify(group.paths)}`);
      }
    });
  }
  return json;
}

module.exports = {
  stringByteLength, getModelArtifactsInfoForJSON, getModelJSONForModelArtifacts, getModelArtifactsForJSON,
  getModelArtifactsForJSONSync, parseModelJSON,
};
