//! Where the binaries under test are: an explicit variable, cargo's run-time variable, or a
//! build that cargo keeps up to date (the crate documentation says why).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Return the `chatd` binary under test, building it if cargo says it is out of date.
pub fn chatd_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| find("chatd", "CHATD_BIN"))
}

/// Return the `chatc` binary under test, building it if cargo says it is out of date.
pub fn chatc_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| find("chatc", "CHATC_BIN"))
}

fn find(name: &str, variable: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{variable}={} is not a file",
            path.display()
        );
        return path;
    }
    if let Some(path) = std::env::var_os(format!("CARGO_BIN_EXE_{name}")) {
        return PathBuf::from(path);
    }
    build(name, variable)
}

/// Run `cargo build --workspace --bin NAME` and return the executable it reports.
fn build(name: &str, variable: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--locked", "--workspace", "--bin", name])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(profile) = test_profile() {
        cmd.args(["--profile", &profile]);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run cargo to build {name} ({e}); set {variable} to a {name} binary")
    });
    assert!(
        out.status.success(),
        "`cargo build --bin {name}` failed; set {variable} to a {name} binary:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(r#""reason":"compiler-artifact""#))
        .filter_map(executable)
        .find(|p| p.file_name().is_some_and(|f| f == name))
        .unwrap_or_else(|| panic!("cargo built no {name} executable; set {variable}"))
}

/// Return the profile the running test executable was built in, from its directory:
/// `TARGET/PROFILE/deps/TEST` (`debug` is the `dev` profile's directory).
fn test_profile() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    let dir = deps.parent()?.file_name()?.to_str()?;
    Some(if dir == "debug" { "dev" } else { dir }.to_string())
}

/// Return the `"executable"` path of one line of cargo's JSON messages, if it has one.
fn executable(json: &str) -> Option<PathBuf> {
    let start = json.find(r#""executable":""#)? + r#""executable":""#.len();
    let mut path = String::new();
    let mut chars = json[start..].chars();
    loop {
        match chars.next()? {
            '"' => return Some(PathBuf::from(path)),
            '\\' => match chars.next()? {
                c @ ('"' | '\\' | '/') => path.push(c),
                // Any other escape is a path too odd to guess at.
                _ => return None,
            },
            c => path.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_read_from_a_cargo_message() {
        let line = r#"{"reason":"compiler-artifact","filenames":["/t/debug/chatd"],"executable":"/t/a \"b\"\\c/debug/chatd","fresh":true}"#;
        assert_eq!(
            executable(line),
            Some(PathBuf::from(r#"/t/a "b"\c/debug/chatd"#))
        );
        assert_eq!(executable(r#"{"executable":null}"#), None);
        assert_eq!(executable(r#"{"executable":"/x\u0041"}"#), None);
        assert_eq!(executable(r#"{"executable":"/unterminated"#), None);
    }
}
