//! The kernel and gradient registries (tfjs `kernel_registry`): kernels by (name, backend),
//! gradients by kernel name. Built-ins register under backend `cpu` with tfjs kernel names;
//! JS code may add, remove and override entries at any time. Lookups clone the entry out so no
//! lock is held while a kernel (possibly JavaScript) runs.

use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

/// The backend every built-in kernel registers under. `tensorflow` (tfjs-node's) aliases it.
pub const BACKEND: &str = "cpu";

pub fn canonical_backend(name: &str) -> &str {
    if name == "tensorflow" { BACKEND } else { name }
}

/// A native kernel: inputs in the order of its declared input names.
pub type KernelFn = fn(&[Tensor], &Attrs) -> Result<Vec<Tensor>>;

/// What a gradient rule sees: the upstream gradients (one per output), the kernel's inputs,
/// outputs and attributes.
pub struct GradCtx<'a> {
    /// One per output; zeros where nothing used an output, or an empty tensor for a workspace
    /// output (see `Registry::workspace_outputs_after`).
    pub dys: &'a [Tensor],
    pub inputs: &'a [Tensor],
    pub outputs: &'a [Tensor],
    pub attrs: &'a Attrs,
    /// Which inputs' gradients lead somewhere (empty: all). A rule may return `None` for the
    /// others instead of computing them — the input batch of a model's first layer, say.
    pub needs: &'a [bool],
}

impl GradCtx<'_> {
    /// Whether the gradient of input `i` is wanted.
    pub fn needs(&self, i: usize) -> bool {
        self.needs.get(i).copied().unwrap_or(true)
    }
}

/// A native gradient rule: one entry per input, `None` where no gradient flows.
pub type GradFn = fn(&GradCtx) -> Result<Vec<Option<Tensor>>>;

/// A kernel implemented outside the core (a JS `kernelFunc`).
pub trait ForeignKernel: Send + Sync {
    fn call(&self, kernel: &str, names: &[String], inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>>;
}

/// A gradient implemented outside the core (a JS `gradFunc`, or a `customGrad` function).
/// Returns gradients by input name.
pub trait ForeignGradient: Send + Sync {
    fn call(&self, kernel: &str, dys: &[Tensor], saved: &[Tensor], attrs: &Attrs) -> Result<Vec<(String, Tensor)>>;
}

#[derive(Clone)]
pub enum Kernel {
    Native(KernelFn),
    Foreign(Arc<dyn ForeignKernel>),
}

#[derive(Clone)]
pub enum Gradient {
    Native(GradFn),
    Foreign {
        func: Arc<dyn ForeignGradient>,
        inputs_to_save: Vec<String>,
        save_all_inputs: bool,
        outputs_to_save: Vec<bool>,
    },
}

#[derive(Default)]
pub struct Registry {
    kernels: HashMap<String, Kernel>,
    other_backends: HashMap<(String, String), Kernel>,
    gradients: HashMap<String, Gradient>,
    /// Declared input names of built-in kernels; kept after an unregister so that a JS override
    /// of a built-in kernel still receives named inputs.
    input_names: HashMap<String, &'static [&'static str]>,
    /// Kernels whose trailing outputs are workspaces for their gradient rule: how many leading
    /// outputs take gradients.
    gradient_outputs: HashMap<String, usize>,
}

impl Registry {
    /// Registers a built-in kernel with its tfjs input names and, optionally, its gradient.
    pub fn builtin(&mut self, name: &str, inputs: &'static [&'static str], k: KernelFn, g: Option<GradFn>) {
        self.kernels.insert(name.to_string(), Kernel::Native(k));
        self.input_names.insert(name.to_string(), inputs);
        if let Some(g) = g {
            self.gradients.insert(name.to_string(), Gradient::Native(g));
        }
    }
    /// Declares that only the first `n` outputs of kernel `name` take gradients: the others are
    /// workspaces its gradient rule reads, and the rule receives an empty tensor as their
    /// upstream gradient unless something else gave them one.
    pub fn workspace_outputs_after(&mut self, name: &str, n: usize) {
        self.gradient_outputs.insert(name.to_string(), n);
    }
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(|| {
    let mut r = Registry::default();
    crate::kernels::register_all(&mut r);
    RwLock::new(r)
});

fn read() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}
fn write() -> std::sync::RwLockWriteGuard<'static, Registry> {
    REGISTRY.write().unwrap_or_else(|e| e.into_inner())
}

pub fn get_kernel(name: &str, backend: &str) -> Option<Kernel> {
    let backend = canonical_backend(backend);
    let r = read();
    if backend == BACKEND {
        r.kernels.get(name).cloned()
    } else {
        r.other_backends.get(&(name.to_string(), backend.to_string())).cloned()
    }
}

pub fn kernel_or_err(name: &str) -> Result<Kernel> {
    get_kernel(name, BACKEND).ok_or_else(|| Error::UnknownKernel { name: name.to_string(), backend: BACKEND.to_string() })
}

/// Registers (or, as tfjs does with a warning, overrides) a kernel; returns whether one was
/// already registered under that name and backend so the caller can warn.
pub fn register_kernel(name: &str, backend: &str, k: Kernel) -> bool {
    let backend = canonical_backend(backend);
    let mut r = write();
    if backend == BACKEND {
        r.kernels.insert(name.to_string(), k).is_some()
    } else {
        r.other_backends.insert((name.to_string(), backend.to_string()), k).is_some()
    }
}

pub fn unregister_kernel(name: &str, backend: &str) -> Result<()> {
    let backend = canonical_backend(backend);
    let mut r = write();
    let removed = if backend == BACKEND {
        r.kernels.remove(name).is_some()
    } else {
        r.other_backends.remove(&(name.to_string(), backend.to_string())).is_some()
    };
    if removed {
        Ok(())
    } else {
        Err(Error::arg("unregisterKernel", format!("the kernel '{name}' for backend '{backend}' is not registered")))
    }
}

pub fn kernel_names_for_backend(backend: &str) -> Vec<String> {
    let backend = canonical_backend(backend);
    let r = read();
    let mut v: Vec<String> = if backend == BACKEND {
        r.kernels.keys().cloned().collect()
    } else {
        r.other_backends.keys().filter(|(_, b)| b == backend).map(|(n, _)| n.clone()).collect()
    };
    v.sort();
    v
}

pub fn is_native_kernel(name: &str) -> bool {
    matches!(read().kernels.get(name), Some(Kernel::Native(_)))
}

/// How many leading outputs of kernel `name` take gradients, when its others are workspaces.
pub fn gradient_outputs(name: &str) -> Option<usize> {
    read().gradient_outputs.get(name).copied()
}

pub fn get_gradient(name: &str) -> Option<Gradient> {
    read().gradients.get(name).cloned()
}

/// Registering a gradient replaces any earlier one (tfjs warns and overrides).
pub fn register_gradient(name: &str, g: Gradient) {
    write().gradients.insert(name.to_string(), g);
}

pub fn unregister_gradient(name: &str) -> Result<()> {
    if write().gradients.remove(name).is_some() {
        Ok(())
    } else {
        Err(Error::arg("unregisterGradient", format!("no gradient is registered for kernel '{name}'")))
    }
}

pub fn input_names(name: &str) -> Option<&'static [&'static str]> {
    read().input_names.get(name).copied()
}
