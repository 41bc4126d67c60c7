//! Networks: the layer graph, the model zoo and [`Model`], generic over the backend so the
//! same network runs on the CPU reference and on any GPU.

pub mod graph;
pub mod model;
pub mod models;

pub use graph::{GradientPlan, Graph, Layer, LayerKind};
pub use model::{Metrics, MetricsValue, Model, StepConfig};
pub use models::{initial_parameters, Init};
