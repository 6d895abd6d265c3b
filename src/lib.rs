//! frameloop: message-based TCP servers and clients on one event loop.
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms, unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod codec;

mod buffer;
mod error;
mod handler;
mod reactor;

pub use error::Error;
pub use handler::{CloseReason, ConnId, Handler, TimerId};
pub use reactor::{Builder, Ctx, Notifier, Reactor, Stats};
