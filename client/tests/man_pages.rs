//! Check that chatc(1) documents every long option and environment
//! variable that `chatc --help` lists, so that the manual page cannot drift from the command line.
#![allow(clippy::unwrap_used)]

#[path = "../../man/option_check.rs"]
mod option_check;

/// The manual page this binary's options must appear in.
const MAN_PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/chatc.1");

#[test]
fn every_long_option_in_help_is_in_the_man_page() {
    option_check::check_options(env!("CARGO_BIN_EXE_chatc"), MAN_PAGE);
}

#[test]
fn every_environment_variable_in_help_is_in_the_man_page() {
    option_check::check_env_vars(env!("CARGO_BIN_EXE_chatc"), MAN_PAGE);
}

#[test]
fn every_long_option_in_help_has_an_entry_of_its_own() {
    option_check::check_option_entries(env!("CARGO_BIN_EXE_chatc"), MAN_PAGE);
}
