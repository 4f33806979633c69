//! The open-file limit: chat-bench holds one socket per client, so 1,000 clients need more
//! than the soft limit many shells start with (1,024, less a few).

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

/// Descriptors chat-bench uses besides its clients: the standard streams, epoll, the files
/// of `/proc` it reads, with room to spare.
pub const SPARE: u64 = 32;

/// Raise the soft open-file limit to the hard one, as far as `clients` need; return an error
/// for the user if even the hard limit is too low.
pub fn raise_for(clients: usize) -> Result<(), String> {
    let need = u64::try_from(clients)
        .unwrap_or(u64::MAX)
        .saturating_add(SPARE);
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| format!("cannot read the open-file limit: {e}"))?;
    if soft >= need {
        return Ok(());
    }
    if hard != RLIM_INFINITY && hard < need {
        return Err(format!(
            "{clients} clients need {need} open files, but the hard limit is {hard} (raise it: ulimit -Hn, or LimitNOFILE=)"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, need, hard)
        .map_err(|e| format!("cannot raise the open-file limit to {need}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_the_soft_limit_as_far_as_needed() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let clients = 200;
        if hard != RLIM_INFINITY && hard < clients + SPARE {
            assert!(raise_for(clients as usize).is_err());
            return;
        }
        raise_for(clients as usize).unwrap();
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert!(soft >= clients + SPARE, "soft limit {soft}");
        if hard != RLIM_INFINITY {
            let too_many = usize::try_from(hard).unwrap();
            assert!(raise_for(too_many).unwrap_err().contains("hard limit"));
        }
    }
}
