//! Fault-injection tests of the job engine against a loopback server.

mod support;

mod classification;
mod lifecycle;
mod rate_limits;
mod retries;
mod secrets;
