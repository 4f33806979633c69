//! Check that chatd(8) documents every long option and environment variable that `chatd
//! --help` lists, each option in an entry of its own, and that `/etc/default/chatd` has every
//! variable, so that neither can drift from the command line.
#![allow(clippy::unwrap_used)]

#[path = "../../man/option_check.rs"]
mod option_check;

/// The manual page this binary's options must appear in.
const MAN_PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/chatd.8");

#[test]
fn every_long_option_in_help_is_in_the_man_page() {
    option_check::check_options(env!("CARGO_BIN_EXE_chatd"), MAN_PAGE);
}

#[test]
fn every_environment_variable_in_help_is_in_the_man_page() {
    option_check::check_env_vars(env!("CARGO_BIN_EXE_chatd"), MAN_PAGE);
}

#[test]
fn every_long_option_in_help_has_an_entry_of_its_own() {
    option_check::check_option_entries(env!("CARGO_BIN_EXE_chatd"), MAN_PAGE);
}

#[test]
fn every_environment_variable_in_help_is_in_etc_default_chatd() {
    // chatd(8) promises that /etc/default/chatd has every one, as a commented example.
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/default/chatd");
    option_check::check_env_vars(env!("CARGO_BIN_EXE_chatd"), default);
}
