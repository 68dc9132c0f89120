//! The `console` sink type: each alert printed on stdout (the default config uses it, so pantau
//! works before any chat is set up). Printing is `deliver`'s; this says what the type takes.

use super::template::{plain, Escaper};
use super::{Configured, Transport, Keys, Service, Type};

/// The `console` sink type: no keys of its own.
pub static TYPE: Type = Type { name: "console", keys: &[], configure };

fn configure(_keys: &mut dyn Keys) -> Configured {
    Configured::new(Console)
}

/// A configured console sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Console;

impl Service for Console {
    fn kind(&self) -> &'static str {
        "console"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Console
    }

    fn template_escaper(&self) -> Escaper {
        plain
    }
}
