//! Tensors: an immutable shape + dtype over shared storage. A tensor's `id` names it on the
//! gradient tape; a variable's reads all carry the variable's id, so gradients reach it across
//! `assign`s. Live storage is counted for `tf.memory()`.

use crate::error::{Error, Result};
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    Float32,
    Int32,
    Bool,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::Float32 => "float32",
            DType::Int32 => "int32",
            DType::Bool => "bool",
        }
    }
    pub fn parse(s: &str) -> Result<DType> {
        match s {
            "float32" => Ok(DType::Float32),
            "int32" => Ok(DType::Int32),
            "bool" => Ok(DType::Bool),
            other => Err(Error::dtype("tensor", "one of float32, int32, bool", other)),
        }
    }
    pub fn size_of(self) -> usize {
        match self {
            DType::Float32 | DType::Int32 => 4,
            DType::Bool => 1,
        }
    }
    /// The dtype two operands of an arithmetic op are computed in (tfjs `upcastType`).
    pub fn upcast(a: DType, b: DType) -> DType {
        match (a, b) {
            (DType::Float32, _) | (_, DType::Float32) => DType::Float32,
            (DType::Int32, _) | (_, DType::Int32) => DType::Int32,
            _ => DType::Bool,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Element storage of one dtype. Bool is stored as 0/1 bytes, as tfjs's `Uint8Array`.
#[derive(Debug, Clone, PartialEq)]
pub enum Buffer {
    F32(Vec<f32>),
    I32(Vec<i32>),
    Bool(Vec<u8>),
}

impl Buffer {
    pub fn dtype(&self) -> DType {
        match self {
            Buffer::F32(_) => DType::Float32,
            Buffer::I32(_) => DType::Int32,
            Buffer::Bool(_) => DType::Bool,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Buffer::F32(v) => v.len(),
            Buffer::I32(v) => v.len(),
            Buffer::Bool(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn byte_len(&self) -> usize {
        self.len() * self.dtype().size_of()
    }
}

static LIVE_BUFFERS: AtomicI64 = AtomicI64::new(0);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Storage shared by tensors (reshape and variable reads share it). Counted while alive.
#[derive(Debug)]
pub struct Storage {
    buf: Buffer,
}

impl Storage {
    pub fn new(buf: Buffer) -> Arc<Storage> {
        LIVE_BUFFERS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(buf.byte_len() as i64, Ordering::Relaxed);
        Arc::new(Storage { buf })
    }
    pub fn buffer(&self) -> &Buffer {
        &self.buf
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        LIVE_BUFFERS.fetch_sub(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(self.buf.byte_len() as i64, Ordering::Relaxed);
    }
}

/// Number of live storage buffers and their bytes.
pub fn live_storage() -> (i64, i64) {
    (LIVE_BUFFERS.load(Ordering::Relaxed), LIVE_BYTES.load(Ordering::Relaxed))
}

pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug)]
struct Inner {
    id: u64,
    shape: Vec<usize>,
    storage: Arc<Storage>,
}

/// A cheap-to-clone handle to an immutable tensor.
#[derive(Debug, Clone)]
pub struct Tensor(Arc<Inner>);

pub fn shape_size(shape: &[usize]) -> usize {
    shape.iter().product()
}

pub fn fmt_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(","))
}

impl Tensor {
    /// A tensor over `buf`; fails when the element count does not match `shape`.
    pub fn new(shape: Vec<usize>, buf: Buffer) -> Result<Tensor> {
        if shape_size(&shape) != buf.len() {
            return Err(Error::shape(
                "tensor",
                format!("{} values for shape {}", shape_size(&shape), fmt_shape(&shape)),
                format!("{} values", buf.len()),
            ));
        }
        Ok(Tensor::from_parts(next_id(), shape, Storage::new(buf)))
    }
    pub(crate) fn from_parts(id: u64, shape: Vec<usize>, storage: Arc<Storage>) -> Tensor {
        Tensor(Arc::new(Inner { id, shape, storage }))
    }
    pub fn from_f32(shape: Vec<usize>, v: Vec<f32>) -> Result<Tensor> {
        Tensor::new(shape, Buffer::F32(v))
    }
    pub fn from_i32(shape: Vec<usize>, v: Vec<i32>) -> Result<Tensor> {
        Tensor::new(shape, Buffer::I32(v))
    }
    pub fn from_bool(shape: Vec<usize>, v: Vec<u8>) -> Result<Tensor> {
        Tensor::new(shape, Buffer::Bool(v))
    }
    /// For kernels: the caller guarantees `v.len() == product(shape)`.
    pub fn f32(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        debug_assert_eq!(shape_size(&shape), v.len());
        Tensor::from_parts(next_id(), shape, Storage::new(Buffer::F32(v)))
    }
    pub fn i32(shape: Vec<usize>, v: Vec<i32>) -> Tensor {
        debug_assert_eq!(shape_size(&shape), v.len());
        Tensor::from_parts(next_id(), shape, Storage::new(Buffer::I32(v)))
    }
    pub fn bool(shape: Vec<usize>, v: Vec<u8>) -> Tensor {
        debug_assert_eq!(shape_size(&shape), v.len());
        Tensor::from_parts(next_id(), shape, Storage::new(Buffer::Bool(v)))
    }
    pub fn from_buffer(shape: Vec<usize>, buf: Buffer) -> Tensor {
        debug_assert_eq!(shape_size(&shape), buf.len());
        Tensor::from_parts(next_id(), shape, Storage::new(buf))
    }
    pub fn scalar(v: f32) -> Tensor {
        Tensor::f32(vec![], vec![v])
    }
    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, dtype, 0.0)
    }
    pub fn full(shape: &[usize], dtype: DType, v: f64) -> Tensor {
        let n = shape_size(shape);
        let buf = match dtype {
            DType::Float32 => Buffer::F32(vec![v as f32; n]),
            DType::Int32 => Buffer::I32(vec![v as i32; n]),
            DType::Bool => Buffer::Bool(vec![(v != 0.0) as u8; n]),
        };
        Tensor::from_buffer(shape.to_vec(), buf)
    }

    pub fn id(&self) -> u64 {
        self.0.id
    }
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    pub fn rank(&self) -> usize {
        self.0.shape.len()
    }
    pub fn size(&self) -> usize {
        shape_size(&self.0.shape)
    }
    pub fn dtype(&self) -> DType {
        self.0.storage.buf.dtype()
    }
    pub fn buffer(&self) -> &Buffer {
        &self.0.storage.buf
    }
    pub fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }
    /// The float32 elements; an error naming `op` for other dtypes.
    pub fn f32s(&self, op: &str) -> Result<&[f32]> {
        match &self.0.storage.buf {
            Buffer::F32(v) => Ok(v),
            b => Err(Error::dtype(op, "float32", b.dtype().name())),
        }
    }
    pub fn i32s(&self, op: &str) -> Result<&[i32]> {
        match &self.0.storage.buf {
            Buffer::I32(v) => Ok(v),
            b => Err(Error::dtype(op, "int32", b.dtype().name())),
        }
    }
    /// Elements as f32, copying only when the dtype is not float32.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.0.storage.buf {
            Buffer::F32(v) => v.clone(),
            Buffer::I32(v) => v.iter().map(|&x| x as f32).collect(),
            Buffer::Bool(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
    /// Borrowed f32 elements when float32, converted otherwise.
    pub fn as_f32(&self) -> std::borrow::Cow<'_, [f32]> {
        match &self.0.storage.buf {
            Buffer::F32(v) => std::borrow::Cow::Borrowed(v),
            _ => std::borrow::Cow::Owned(self.to_f32_vec()),
        }
    }
    pub fn to_i32_vec(&self) -> Vec<i32> {
        match &self.0.storage.buf {
            Buffer::F32(v) => v.iter().map(|&x| x as i32).collect(),
            Buffer::I32(v) => v.clone(),
            Buffer::Bool(v) => v.iter().map(|&x| x as i32).collect(),
        }
    }
    /// A tensor of the same storage under a new shape (no copy, new id).
    pub fn reshaped(&self, shape: Vec<usize>) -> Result<Tensor> {
        if shape_size(&shape) != self.size() {
            return Err(Error::shape(
                "Reshape",
                format!("a shape of {} elements", self.size()),
                fmt_shape(&shape),
            ));
        }
        Ok(Tensor::from_parts(next_id(), shape, self.0.storage.clone()))
    }
    /// The same data under another id (what `clone()`/`Identity` produce).
    pub fn with_new_id(&self) -> Tensor {
        Tensor::from_parts(next_id(), self.0.shape.clone(), self.0.storage.clone())
    }
    pub(crate) fn with_id(&self, id: u64) -> Tensor {
        Tensor::from_parts(id, self.0.shape.clone(), self.0.storage.clone())
    }
    /// Converts to `dtype` (tfjs `cast` semantics: float→int truncates, x→bool is x != 0).
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.with_new_id();
        }
        let shape = self.shape().to_vec();
        let buf = match (&self.0.storage.buf, dtype) {
            (b, DType::Float32) => {
                let _ = b;
                Buffer::F32(self.to_f32_vec())
            }
            (Buffer::F32(v), DType::Int32) => Buffer::I32(v.iter().map(|&x| x as i32).collect()),
            (Buffer::Bool(v), DType::Int32) => Buffer::I32(v.iter().map(|&x| x as i32).collect()),
            (Buffer::F32(v), DType::Bool) => Buffer::Bool(v.iter().map(|&x| (x != 0.0) as u8).collect()),
            (Buffer::I32(v), DType::Bool) => Buffer::Bool(v.iter().map(|&x| (x != 0) as u8).collect()),
            (b, _) => b.clone(),
        };
        Tensor::from_buffer(shape, buf)
    }
}

/// A trainable (or not) tensor that can be re-assigned; reads keep the variable's id.
#[derive(Debug)]
pub struct Variable {
    id: u64,
    name: String,
    trainable: std::sync::atomic::AtomicBool,
    value: std::sync::RwLock<Tensor>,
}

impl Variable {
    pub fn new(initial: &Tensor, name: Option<String>, trainable: bool) -> Arc<Variable> {
        let id = next_id();
        let name = name.unwrap_or_else(|| format!("Variable{id}"));
        Arc::new(Variable {
            id,
            name,
            trainable: std::sync::atomic::AtomicBool::new(trainable),
            value: std::sync::RwLock::new(initial.with_id(id)),
        })
    }
    pub fn id(&self) -> u64 {
        self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn trainable(&self) -> bool {
        self.trainable.load(Ordering::Relaxed)
    }
    pub fn set_trainable(&self, t: bool) {
        self.trainable.store(t, Ordering::Relaxed)
    }
    pub fn read(&self) -> Tensor {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Replaces the value; shape and dtype must stay as they are.
    pub fn assign(&self, v: &Tensor) -> Result<()> {
        let mut cur = self.value.write().unwrap_or_else(|e| e.into_inner());
        if cur.shape() != v.shape() {
            return Err(Error::shape(
                format!("Variable.assign ({})", self.name),
                fmt_shape(cur.shape()),
                fmt_shape(v.shape()),
            ));
        }
        if cur.dtype() != v.dtype() {
            return Err(Error::dtype(
                format!("Variable.assign ({})", self.name),
                cur.dtype().name(),
                v.dtype().name(),
            ));
        }
        *cur = v.with_id(self.id);
        Ok(())
    }
}
