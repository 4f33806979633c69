//! The non-blocking byte transport a connection sits on, in the style of the `nb` crate.
//!
//! The daemon implements [`Transport`] over a non-blocking TCP socket; an embedded TCP stack
//! could implement it just as well. `nb::Error::WouldBlock` means "not now, wait for
//! readiness"; it is never an error to report.

/// A non-blocking, ordered byte stream.
pub trait Transport {
    /// The transport's own error (reset, broken pipe, …).
    type Error;

    /// Write some of `bufs`, in order, as one gather write; return how many bytes were taken.
    fn write_vectored(&mut self, bufs: &[&[u8]]) -> nb::Result<usize, Self::Error>;

    /// Read into `buf`; `Ok(0)` means the peer closed its side.
    fn read(&mut self, buf: &mut [u8]) -> nb::Result<usize, Self::Error>;
}

/// How a read from a transport ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Nothing more to read now.
    WouldBlock,
    /// The byte budget for this turn is used up; more may be waiting.
    Budget,
    /// The peer closed its side; the connection has been closed in the core.
    Eof,
}
