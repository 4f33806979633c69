//! chatc in a real terminal: the tmux driver of chat-testkit, and the command that runs chatc
//! in its pane away from the user's environment.
#![allow(dead_code)]

use chat_testkit::chatc_bin;
pub use chat_testkit::Tmux;

/// Return a shell command that runs chatc against 127.0.0.1:`port` with `args`, away from the
/// user's environment and configuration file, and then waits (so the screen stays readable).
pub fn chatc_command(port: u16, args: &str) -> String {
    format!(
        "env -u CHATC_PASSWORD -u CHATC_HOST -u CHATC_PORT -u NO_COLOR \
         XDG_CONFIG_HOME=/nonexistent/chatc-test {} -H 127.0.0.1 -p {port} {args}; sleep 30",
        chatc_bin().display()
    )
}
