//! Networks: the layer graph, the model zoo and [`Model`], generic over the backend so the
//! same network runs on the CPU reference and on any GPU.

pub mod graph;
pub mod model;
pub mod models;

pub use graph::{Graph, Layer, LayerKind};
pub use model::{initial_parameters, Metrics, MetricsValue, Model, StepConfig};
pub use models::Init;
