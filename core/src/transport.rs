//! The non-blocking byte stream [`crate::Server::flush`] writes a connection's output to, in
//! the style of the `nb` crate.
//!
//! The daemon implements [`Transport`] over a non-blocking TCP socket; an embedded TCP stack
//! could implement it just as well. `nb::Error::WouldBlock` means "not now, wait for
//! readiness"; it is never an error to report. (Input needs no trait: the caller reads however
//! it likes and hands the bytes to [`crate::Server::input`].)

/// The writing side of a non-blocking, ordered byte stream.
pub trait Transport {
    /// The transport's own error (reset, broken pipe, …).
    type Error;

    /// Write some of `bufs`, in order, as one gather write; return how many bytes were taken.
    fn write_vectored(&mut self, bufs: &[&[u8]]) -> nb::Result<usize, Self::Error>;
}
