//! What an operator sees from outside: systemd notifications and watchdog, `/healthz` and
//! `/metrics`, and the counters behind them.

pub mod health;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod progress;
pub mod retry;
