//! What the learner's account holds: the cloud track's checks of resource state (the network,
//! the load balancer's targets, the pipeline, the certificate, and what still bills), read with
//! [`crate::account::Account`]. Each returns what it saw, or why the step is not done yet.

mod acm;
mod common;
mod costs;
mod elb;
mod network;
mod pipeline;

pub use acm::certificate;
pub use costs::hourly_costs;
pub use elb::{listeners, targets_healthy};
pub use network::{nat_gateway, network};
pub use pipeline::{deployed, pipeline_builds};
