//! Neural-network kernels: softmax, convolutions, pooling, normalisation, resizing. Each family
//! lives in its own module; this one registers them all.

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    super::softmax::register(r);
    super::conv::register(r);
    super::conv_depthwise::register(r);
    super::pool::register(r);
    super::norm::register(r);
    super::image::register(r);
}
