'use strict';
// SymbolicTensor: a placeholder flowing through `Layer.apply` while a model is defined; it
// knows its shape (batch dimension null), dtype and the layer node that produces it.

let nextId = 0;

class SymbolicTensor {
  constructor(dtype, shape, sourceLayer, inputs, outputIndex, name) {
    this.dtype = dtype;
    this.shape = shape;
    this.sourceLayer = sourceLayer;
    this.inputs = inputs;
    this.outputIndex = outputIndex;
    this.id = nextId++;
    this.name = name;
    this.rank = shape.length;
  }
}

module.exports = { SymbolicTensor };
