//! Fault-injection tests of the job engine against a loopback server.

mod endpoints;
mod support;

mod bad_input;
mod classification;
mod discovery;
mod lifecycle;
mod login_token;
mod outcomes;
mod queueing;
mod rate_limits;
mod redirects;
mod refresh;
mod retries;
mod secrets;
mod sinks;
mod transfers;
mod transport;
