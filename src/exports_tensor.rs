//! Tensor and variable exports: creation from typed arrays, reading data back, metadata,
//! disposal and memory accounting.

use crate::errors::guard;
use crate::handle::{self, JsHandle, H};
use ferrograd_core::{tensor, Buffer, DType, Error, Tensor, Variable};
use napi::bindgen_prelude::*;
use napi_derive::napi;

fn shape_of(op: &str, shape: Vec<i64>) -> ferrograd_core::Result<Vec<usize>> {
    shape
        .into_iter()
        .map(|d| if d < 0 { Err(Error::arg(op, format!("shape dimensions must be non-negative, got {d}"))) } else { Ok(d as usize) })
        .collect()
}

#[napi(js_name = "fromF32")]
pub fn from_f32(values: Float32Array, shape: Vec<i64>) -> Result<JsHandle> {
    guard("tensor", || Ok(handle::wrap(Tensor::from_f32(shape_of("tensor", shape)?, values.to_vec())?)))
}

#[napi(js_name = "fromI32")]
pub fn from_i32(values: Int32Array, shape: Vec<i64>) -> Result<JsHandle> {
    guard("tensor", || Ok(handle::wrap(Tensor::from_i32(shape_of("tensor", shape)?, values.to_vec())?)))
}

#[napi(js_name = "fromBool")]
pub fn from_bool(values: Uint8Array, shape: Vec<i64>) -> Result<JsHandle> {
    guard("tensor", || Ok(handle::wrap(Tensor::from_bool(shape_of("tensor", shape)?, values.iter().map(|&v| (v != 0) as u8).collect())?)))
}

/// A copy of the data: Float32Array, Int32Array or Uint8Array (bool), as tfjs's `dataSync`.
#[napi(js_name = "readData")]
pub fn read_data(h: H) -> Result<Either3<Float32Array, Int32Array, Uint8Array>> {
    let t = guard("dataSync", || h.tensor("dataSync"))?;
    Ok(match t.buffer() {
        Buffer::F32(v) => Either3::A(Float32Array::new(v.clone())),
        Buffer::I32(v) => Either3::B(Int32Array::new(v.clone())),
        Buffer::Bool(v) => Either3::C(Uint8Array::new(v.clone())),
    })
}

fn dtype_code(d: DType) -> u32 {
    match d {
        DType::Float32 => 0,
        DType::Int32 => 1,
        DType::Bool => 2,
    }
}

/// `[dtypeCode, id, ...shape]` in one call (dtype codes: 0 float32, 1 int32, 2 bool).
#[napi]
pub fn meta(h: H) -> Result<Vec<f64>> {
    let t = guard("tensor", || h.tensor("tensor"))?;
    let mut v = Vec::with_capacity(2 + t.rank());
    v.push(dtype_code(t.dtype()) as f64);
    v.push(t.id() as f64);
    v.extend(t.shape().iter().map(|&d| d as f64));
    Ok(v)
}

#[napi]
pub fn dispose(h: H) {
    h.dispose();
}

#[napi(js_name = "isDisposed")]
pub fn is_disposed(h: H) -> bool {
    h.is_disposed()
}

#[napi(object)]
pub struct MemoryInfo {
    pub num_tensors: i64,
    pub num_data_buffers: i64,
    pub num_bytes: i64,
}

#[napi]
pub fn memory() -> MemoryInfo {
    let (buffers, bytes) = tensor::live_storage();
    MemoryInfo { num_tensors: handle::live_handles(), num_data_buffers: buffers, num_bytes: bytes }
}

#[napi(js_name = "makeVariable")]
pub fn make_variable(initial: H, trainable: bool, name: Option<String>) -> Result<JsHandle> {
    guard("variable", || {
        let t = initial.tensor("variable")?;
        Ok(handle::wrap_variable(Variable::new(&t, name, trainable)))
    })
}

#[napi]
pub fn assign(variable: H, value: H) -> Result<()> {
    guard("Variable.assign", || variable.variable("Variable.assign")?.assign(&value.tensor("Variable.assign")?))
}

#[napi(js_name = "variableInfo")]
pub fn variable_info(variable: H) -> Result<(String, bool)> {
    guard("Variable", || {
        let v = variable.variable("Variable")?;
        Ok((v.name().to_string(), v.trainable()))
    })
}

#[napi(js_name = "setTrainable")]
pub fn set_trainable(variable: H, trainable: bool) -> Result<()> {
    guard("Variable.trainable", || {
        variable.variable("Variable.trainable")?.set_trainable(trainable);
        Ok(())
    })
}

/// A new handle on the same data with a new id (tfjs `clone`), or a snapshot of a variable.
#[napi(js_name = "cloneHandle")]
pub fn clone_handle(h: H) -> Result<JsHandle> {
    guard("clone", || Ok(handle::wrap(h.tensor("clone")?.with_new_id())))
}
