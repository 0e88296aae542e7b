//! How a server asks to be stopped gracefully.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (PostgreSQL: fast shutdown).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl StopSignal {
    /// `INT`, `TERM`: as kept in run records.
    pub fn short_name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "INT",
            StopSignal::Terminate => "TERM",
        }
    }

    /// `SIGINT`, `SIGTERM`: as container engines name them.
    pub fn engine_name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    pub fn number(self) -> i32 {
        match self {
            StopSignal::Interrupt => libc::SIGINT,
            StopSignal::Terminate => libc::SIGTERM,
        }
    }
}
