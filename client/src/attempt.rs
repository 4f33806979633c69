//! One attempt to connect and join, run on its own thread so that interactive mode keeps
//! echoing keys and answering Ctrl-C while a connection times out or a name resolves.
//!
//! The thread owns a copy of the [`Login`]; it never prompts (a password it lacks or a taken
//! name comes back as an error for the caller to handle). When it ends, it drops its end of a
//! socket pair, which makes [`Attempt::fd`] readable and wakes the caller's `poll`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;

use crate::connection::{join, Connection, Login, NoAsker, Target};
use crate::error::Error;

/// What a successful attempt hands back.
pub struct Joined {
    /// The joined connection (lines after `WELCOME` still buffered in it).
    pub conn: Connection,
    /// The handshake lines worth showing.
    pub shown: Vec<String>,
    /// The login as it ended up (the name the server welcomed).
    pub login: Login,
}

/// A connection attempt in progress.
pub struct Attempt {
    rx: Receiver<Result<Joined, Error>>,
    wake: UnixStream,
}

impl Attempt {
    /// Start connecting to `target` and joining as `login` on a new thread.
    pub fn start(target: &Target, login: &Login) -> io::Result<Attempt> {
        let (wake, done) = UnixStream::pair()?;
        let (tx, rx) = mpsc::channel();
        let (target, mut login) = (target.clone(), login.clone());
        thread::Builder::new()
            .name("chatc-connect".into())
            .spawn(move || {
                let result = Connection::open(&target).and_then(|mut conn| {
                    let shown = join(&mut conn, &mut login, &mut NoAsker)?;
                    Ok(Joined { conn, shown, login })
                });
                let _ = tx.send(result);
                drop(done);
            })?;
        Ok(Attempt { rx, wake })
    }

    /// Return the descriptor that becomes readable when the attempt is over.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Return the outcome if the attempt is over.
    pub fn outcome(&self, target: &Target) -> Option<Result<Joined, Error>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(Error::Lost {
                target: target.to_string(),
            })),
        }
    }
}
