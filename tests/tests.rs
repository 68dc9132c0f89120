//! pantau's integration tests: the real binary against feed servers and webhook receivers
//! started on 127.0.0.1 by the tests themselves. No test touches the internet.

mod util;

mod articles;
mod cli;
mod cluster;
mod corpus;
mod deploy;
mod e2e;
mod extraction;
mod firsthour;
mod layout;
mod matrix;
mod polling;
mod resilience;
mod secrets;
mod service;
mod sinks;
mod stories;
