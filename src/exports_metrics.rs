//! `tf.metrics.*`: a built-in metric by name, computed eagerly on two tensors. The metrics that
//! are losses (`meanSquaredError`, the crossentropies, …) are recorded on the active tapes, so
//! they can be differentiated as in tfjs; the accuracy family, precision and recall are not
//! differentiable (tfjs has no gradient for their argmax, threshold and equality either).

use crate::errors::guard;
use crate::handle::{self, JsHandle};
use ferrograd_core::model::metrics::MetricKind;
use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi(js_name = "metricCompute")]
pub fn metric_compute(env: Env, name: String, y_true: Unknown, y_pred: Unknown) -> Result<JsHandle> {
    let op = format!("metrics.{name}");
    let t = handle::tensor_of(&env, y_true, &op, 0)?;
    let p = handle::tensor_of(&env, y_pred, &op, 1)?;
    guard(&op, || {
        let out = match MetricKind::parse(&name)? {
            MetricKind::Loss(k) => k.compute(&t, &p)?,
            k => k.compute(&t, &p)?,
        };
        Ok(handle::wrap(out))
    })
}
