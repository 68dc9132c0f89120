//! pantau's integration tests: the real binary against feed servers and webhook receivers
//! started on 127.0.0.1 by the tests themselves. No test touches the internet.

mod util;

mod articles;
mod cli;
mod corpus;
mod e2e;
mod extraction;
mod matrix;
mod polling;
mod resilience;
mod service;
mod sinks;
