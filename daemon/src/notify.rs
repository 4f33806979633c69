//! systemd readiness notification (`sd_notify`) without libsystemd: one datagram to
//! `$NOTIFY_SOCKET`, whose name starts with `@` for the abstract namespace.

use std::io;
use std::os::unix::net::UnixDatagram;

/// Send `state` (e.g. `READY=1`) to systemd; return `Ok(false)` if not run by systemd.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let sock = UnixDatagram::unbound()?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), &path)?;
    }
    Ok(true)
}

/// Send `state` and log (not fail) if systemd cannot be told.
pub fn notify_or_log(state: &str) {
    match notify(state) {
        Ok(true) => log::debug!(target: "chatd", "sd-notify state={state}"),
        Ok(false) => {}
        Err(e) => log::warn!(target: "chatd", "sd-notify failed state={state} error=\"{e}\""),
    }
}
